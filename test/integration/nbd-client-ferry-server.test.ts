// The agent-to-agent link end to end: Ferry's NBD client against Ferry's own NBD server (in
// process, serving a file), plain and TLS-PSK, with qemu-io checking what landed in the file.

import { randomBytes } from 'node:crypto';
import { open, truncate } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRemoteBackend } from '../../agent/backend/remote-backend.js';
import { NbdHandshakeError } from '../../agent/nbd/client/errors.js';
import { NbdClient } from '../../agent/nbd/client/nbd-client.js';
import { type InProcessServer, startInProcessServer } from '../helpers/nbd-file-server.js';
import { patternBuffer, qemuIo, tempDir } from './nbd-client-peers.js';

process.env.FERRY_LOG = 'quiet';
const MiB = 1024 * 1024;

let tmp: { dir: string; remove(): Promise<void> };
const servers: InProcessServer[] = [];
const clients: NbdClient[] = [];

beforeAll(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await tmp.remove();
});

async function serveFile(name: string, size: number, pskKeys?: Map<string, Buffer>) {
  const file = path.join(tmp.dir, name);
  await (await open(file, 'w')).close();
  await truncate(file, size);
  const server = await startInProcessServer({ file, name: 'lv', pskKeys });
  servers.push(server);
  return { file, server };
}

describe('NbdClient with the Ferry NBD server', () => {
  it('writes, reads, zeroes, trims and maps blocks; qemu-io sees the bytes', async () => {
    const { file, server } = await serveFile('plain.img', 32 * MiB);
    const client = await NbdClient.connect({ host: '127.0.0.1', port: server.port, exportName: 'lv' });
    clients.push(client);
    expect(client.size).toBe(32 * MiB);

    const data = patternBuffer(4 * MiB, 21);
    await Promise.all([
      client.pwrite(data, 2 * MiB, { fua: true }),
      client.pwrite(Buffer.alloc(MiB, 0x77), 12 * MiB),
    ]);
    await client.zero(12 * MiB, 256 * 1024, { noHole: true });
    await client.trim(12 * MiB + 512 * 1024, 512 * 1024);
    await client.flush();
    const back = Buffer.alloc(data.length);
    await client.pread(back, 2 * MiB);
    expect(back.equals(data)).toBe(true);

    if (client.canBlockStatus) {
      const extents = await client.blockStatus(0, 32 * MiB);
      expect(extents.reduce((n, e) => n + e.length, 0)).toBeGreaterThan(0);
    }
    await client.close();
    await qemuIo(`file:${file}`, [
      `read -P 0 ${12 * MiB} 262144`,
      `read -P 0x77 ${12 * MiB + 256 * 1024} 262144`,
    ]);
  });

  it('pipelines 1000 requests over several connections', async () => {
    const { server } = await serveFile('pipeline.img', 16 * MiB);
    const client = await NbdClient.connect({ host: '127.0.0.1', port: server.port, exportName: 'lv' });
    clients.push(client);
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => client.pwrite(patternBuffer(4096, i), i * 8192)),
    );
    const reads = Array.from({ length: 1000 }, () => Buffer.alloc(4096));
    await Promise.all(reads.map((b, i) => client.pread(b, i * 8192)));
    reads.forEach((b, i) => {
      expect(b.equals(patternBuffer(4096, i))).toBe(true);
    });
  });

  it('links over TLS-PSK, refuses a wrong key, and serves the remote backend', async () => {
    const key = randomBytes(32);
    const { server } = await serveFile('tls.img', 8 * MiB, new Map([['peer', key]]));
    const wrong = await NbdClient.connect({
      host: '127.0.0.1',
      port: server.port,
      exportName: 'lv',
      tls: { identity: 'peer', key: randomBytes(32) },
    }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(NbdHandshakeError);
    expect((wrong as NbdHandshakeError).kind).toBe('tls-auth');

    const backend = await openRemoteBackend({ url: `nbds://peer@127.0.0.1:${server.port}/lv`, pskKey: key });
    try {
      await backend.write(patternBuffer(MiB, 4), MiB);
      const back = Buffer.alloc(MiB);
      await backend.read(back, MiB);
      expect(back.equals(patternBuffer(MiB, 4))).toBe(true);
    } finally {
      await backend.close();
    }
  });
});
