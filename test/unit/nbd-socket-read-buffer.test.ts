// Reads into one reused buffer on sockets that exist already: a plain TCP socket and, what the NBD
// server and client get after STARTTLS, a TLS-PSK socket made over one. Real sockets on loopback;
// the bytes received are compared with the bytes sent.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { upgradeToTlsPsk } from '../../agent/nbd/client/tls-psk.js';
import { readIntoReusedBuffer } from '../../agent/nbd/socket-read-buffer.js';
import { acceptTlsPsk } from '../../agent/nbd/tls-psk.js';

const KEY = randomBytes(32);
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A connected pair on loopback: [the server's accepted socket, the client's socket]. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const { port } = server.address() as { port: number };
  const client = new Socket();
  await new Promise<void>((resolve) => client.connect(port, '127.0.0.1', resolve));
  const pair: [Socket, Socket] = [await accepted, client];
  sockets.push(...pair);
  return pair;
}

/** The same pair, both ends upgraded to TLS-PSK by Ferry's own STARTTLS code. */
async function tlsPair(): Promise<[Socket, Socket]> {
  const [rawServer, rawClient] = await socketPair();
  const serverSide = acceptTlsPsk(rawServer, (id) => (id === 'test' ? KEY : undefined));
  const { tlsSocket, ready } = upgradeToTlsPsk(rawClient, { identity: 'test', key: KEY }, 'test');
  const [{ socket }] = await Promise.all([serverSide, ready]);
  sockets.push(socket, tlsSocket);
  return [socket, tlsSocket];
}

/** Collects what arrives: copies of the chunks, and the distinct buffers they were views of. */
function collector() {
  const parts: Buffer[] = [];
  const backing = new Set<ArrayBufferLike>();
  let waiter: { bytes: number; resolve: () => void } | null = null;
  const received = () => parts.reduce((n, p) => n + p.length, 0);
  return {
    parts,
    backing,
    received,
    onChunk(chunk: Buffer) {
      backing.add(chunk.buffer);
      parts.push(Buffer.from(chunk)); // the chunk is only valid during the call
      if (waiter && received() >= waiter.bytes) waiter.resolve();
    },
    until(bytes: number): Promise<void> {
      if (received() >= bytes) return Promise.resolve();
      return new Promise((resolve) => {
        waiter = { bytes, resolve };
      });
    },
  };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('socket reads into a reused buffer', () => {
  for (const [kind, pair] of [
    ['plain TCP', socketPair],
    ['TLS-PSK over STARTTLS', tlsPair],
  ] as const) {
    it(`${kind}: bytes that arrived before the switch come first, then all the rest, in order`, async () => {
      const [receiver, sender] = await pair();
      const early = randomBytes(3000);
      sender.write(early);
      // Let the early bytes reach the receiver's stream buffer before the switch.
      await new Promise<void>((resolve) => receiver.once('readable', () => resolve()));
      const got = collector();
      const buffered = readIntoReusedBuffer(receiver, 256 * 1024, got.onChunk);
      expect(buffered).not.toBeNull();
      expect(buffered!.length).toBeGreaterThan(0);
      const late = randomBytes(8 * 1024 * 1024);
      sender.write(late);
      await got.until(early.length + late.length - buffered!.length);
      const all = Buffer.concat([buffered!, ...got.parts]);
      expect(all.length).toBe(early.length + late.length);
      expect(sha(all)).toBe(sha(Buffer.concat([early, late])));
      // Every chunk was a view of the one buffer the socket reads into.
      expect(got.backing.size).toBe(1);
    });

    it(`${kind}: pause() stops the deliveries and resume() starts them again`, async () => {
      const [receiver, sender] = await pair();
      const got = collector();
      expect(readIntoReusedBuffer(receiver, 64 * 1024, got.onChunk)).not.toBeNull();
      sender.write(randomBytes(64 * 1024));
      await got.until(64 * 1024);
      receiver.pause();
      const before = got.received();
      sender.write(randomBytes(1024 * 1024));
      await new Promise((r) => setTimeout(r, 100));
      expect(got.received()).toBe(before);
      receiver.resume();
      await got.until(before + 1024 * 1024);
      expect(got.received()).toBe(before + 1024 * 1024);
    });
  }

  it('TLS-PSK: reads land where nextTarget says, and no further than its end', async () => {
    const [receiver, sender] = await tlsPair();
    const sent = randomBytes(1024 * 1024);
    const destination = Buffer.alloc(256 * 1024);
    let filled = 0;
    let startedAt = -1; // where in the stream the reads into `destination` began
    const got = collector();
    const buffered = readIntoReusedBuffer(
      receiver,
      64 * 1024,
      (chunk) => {
        if (chunk.buffer === destination.buffer) {
          if (startedAt < 0) startedAt = got.received();
          expect(chunk.byteOffset - destination.byteOffset).toBe(filled);
          filled += chunk.length;
        }
        got.onChunk(chunk);
      },
      () => (filled < destination.length ? destination.subarray(filled) : null),
    );
    expect(buffered).toEqual(Buffer.alloc(0));
    sender.write(sent);
    await got.until(sent.length);
    // After the first read (into the socket's buffer), reads went straight into place until it was full.
    expect(startedAt).toBeGreaterThan(0);
    expect(filled).toBe(destination.length);
    expect(destination.equals(sent.subarray(startedAt, startedAt + destination.length))).toBe(true);
    expect(sha(Buffer.concat(got.parts))).toBe(sha(sent));
  });

  it('leaves a socket that already reads into its own buffer alone', async () => {
    const own = new Socket({ onread: { buffer: Buffer.alloc(1024), callback: () => true } });
    sockets.push(own);
    expect(readIntoReusedBuffer(own, 1024, () => {})).toBeNull();
  });
});
