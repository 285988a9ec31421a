// Handshake failures a user meets: nothing listening, a peer that never speaks, a peer that is not
// an NBD server. Each fails within the connect timeout with an error that says which.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NbdHandshakeError } from '../../agent/nbd/client/errors.js';
import { NbdClient } from '../../agent/nbd/client/nbd-client.js';
import { freePort } from './nbd-client-peers.js';

process.env.FERRY_LOG = 'quiet';
const listeners: net.Server[] = [];
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(onConnection: (s: net.Socket) => void): Promise<number> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onConnection(s);
  });
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof server.close;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  listeners.push(server);
  return (server.address() as net.AddressInfo).port;
}

async function failure(p: Promise<unknown>): Promise<NbdHandshakeError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NbdHandshakeError);
  return err as NbdHandshakeError;
}

describe('NbdClient handshake failures', () => {
  it('names an unreachable address', async () => {
    const port = await freePort();
    const err = await failure(NbdClient.connect({ host: '127.0.0.1', port, exportName: '' }));
    expect(err.kind).toBe('unreachable');
    expect(err.message).toMatch(new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
  });

  it('gives up on a silent peer after connectTimeoutMs', async () => {
    const port = await listen(() => {});
    const started = Date.now();
    const err = await failure(
      NbdClient.connect({ host: '127.0.0.1', port, exportName: '', connectTimeoutMs: 300 }),
    );
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/after 300 ms \(stuck in GREETING\)/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('recognises a peer that is not an NBD server', async () => {
    const port = await listen((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\nnot an nbd server at all'));
    const err = await failure(NbdClient.connect({ host: '127.0.0.1', port, exportName: '' }));
    expect(err.kind).toBe('protocol');
    expect(err.message).toMatch(/not an NBD server/);
  });

  it('validates its options', async () => {
    await expect(NbdClient.connect({ host: '127.0.0.1', port: 0, exportName: '' })).rejects.toThrow(/port 0/);
    await expect(NbdClient.connect({ host: 'h', port: 1, exportName: '', connections: 0 })).rejects.toThrow(
      /connections/,
    );
  });
});
