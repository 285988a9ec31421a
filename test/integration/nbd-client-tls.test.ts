// TLS-PSK: the right key works, a wrong key fails with a clear error, and a client that wants TLS
// never falls back to plaintext; a server that requires TLS tells a plaintext client what to do.

import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRemoteBackend } from '../../agent/backend/remote-backend.js';
import { NbdHandshakeError } from '../../agent/nbd/client/errors.js';
import { NbdClient } from '../../agent/nbd/client/nbd-client.js';
import { FerryError } from '../../shared/errors.js';
import { patternBuffer, type ServerProcess, startNbdkit, tempDir, writePskFile } from './nbd-client-peers.js';

process.env.FERRY_LOG = 'quiet';
const MiB = 1024 * 1024;
const identity = 'ferry-move-1';
const key = randomBytes(32);

let tmp: { dir: string; remove(): Promise<void> };
let pskFile: string;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  tmp = await tempDir();
  pskFile = await writePskFile(tmp.dir, identity, key);
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await tmp.remove();
});

async function tlsServer(): Promise<ServerProcess> {
  const server = await startNbdkit(['memory', '16M'], { pskFile });
  servers.push(server);
  return server;
}

async function handshakeError(p: Promise<unknown>): Promise<NbdHandshakeError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NbdHandshakeError);
  return err as NbdHandshakeError;
}

describe('NbdClient over TLS-PSK', () => {
  it('works with the right identity and key, on several connections', async () => {
    const server = await tlsServer();
    const client = await NbdClient.connect({
      host: '127.0.0.1',
      port: server.port,
      exportName: '',
      tls: { identity, key },
    });
    try {
      expect(client.tls).toBe(true);
      expect(client.connectionCount).toBe(4);
      const data = patternBuffer(2 * MiB, 11);
      await client.pwrite(data, 3 * MiB);
      const back = Buffer.alloc(data.length);
      await client.pread(back, 3 * MiB);
      expect(back.equals(data)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('fails with a clear error when the key is wrong', async () => {
    const server = await tlsServer();
    const err = await handshakeError(
      NbdClient.connect({
        host: '127.0.0.1',
        port: server.port,
        exportName: '',
        tls: { identity, key: randomBytes(32) },
      }),
    );
    expect(err.kind).toBe('tls-auth');
    expect(err.message).toMatch(/TLS-PSK handshake with 127\.0\.0\.1:\d+ failed/);
    expect(err.message).toMatch(/ferry-move-1/);

    const unknown = await handshakeError(
      NbdClient.connect({
        host: '127.0.0.1',
        port: server.port,
        exportName: '',
        tls: { identity: 'nobody', key },
      }),
    );
    expect(unknown.kind).toBe('tls-auth');
  });

  it('never downgrades: a TLS client refuses a server without TLS', async () => {
    const plain = await startNbdkit(['memory', '16M']);
    servers.push(plain);
    const err = await handshakeError(
      NbdClient.connect({ host: '127.0.0.1', port: plain.port, exportName: '', tls: { identity, key } }),
    );
    expect(err.kind).toBe('tls-unavailable');
    expect(err.message).toMatch(/does not offer TLS/);
  });

  it('tells a plaintext client that the server requires TLS', async () => {
    const server = await tlsServer();
    const err = await handshakeError(
      NbdClient.connect({ host: '127.0.0.1', port: server.port, exportName: '' }),
    );
    expect(err.kind).toBe('tls-required');
    expect(err.message).toMatch(/requires TLS.*nbds:\/\//);
  });

  it('openRemoteBackend maps failures to FerryError codes and reads PSK files', async () => {
    const server = await tlsServer();
    const url = `nbds://${identity}@127.0.0.1:${server.port}/`;
    const wrong = await openRemoteBackend({ url, pskKey: randomBytes(32) }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(FerryError);
    expect((wrong as FerryError).code).toBe('ERR_AUTH');

    const noKey = await openRemoteBackend({ url }).catch((e: unknown) => e);
    expect((noKey as FerryError).code).toBe('ERR_INVALID_ARGUMENT');

    const backend = await openRemoteBackend({ url: `${url}?tls-psk-file=${encodeURIComponent(pskFile)}` });
    try {
      await backend.write(Buffer.alloc(4096, 7), 0);
      const back = Buffer.alloc(4096);
      await backend.read(back, 0);
      expect(back.every((b) => b === 7)).toBe(true);
    } finally {
      await backend.close();
    }
  });
});
