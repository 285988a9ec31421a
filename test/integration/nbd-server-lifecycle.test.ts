// The server's life around its clients: bounded memory when a client pipelines without reading
// replies, connections() / disconnectWhere() for policy changes, close() that lets requests
// already received finish and flushes the export.

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BlockBackend } from '../../agent/backend/block-backend.js';
import type { ExportProvider } from '../../agent/nbd/export-provider.js';
import { Cmd, ReplyType } from '../../agent/nbd/wire.js';
import {
  type InProcessServer,
  sparseFile,
  startInProcessServer,
  tempDir,
} from '../helpers/nbd-file-server.js';
import { RawNbdClient } from '../helpers/nbd-raw-client.js';

const MiB = 1024 * 1024;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function serve(opts: Parameters<typeof startInProcessServer>[0] extends infer O ? Partial<O> : never) {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const file = await sparseFile(join(dir.dir, 'disk.img'), 64 * MiB);
  const srv = await startInProcessServer({ file, ...opts });
  cleanups.push(() => srv.close());
  return srv;
}

async function client(srv: InProcessServer): Promise<RawNbdClient> {
  const c = await RawNbdClient.connect(srv.port);
  cleanups.push(() => c.destroy());
  return c;
}

/** Two exports 'a' and 'b' on one backend, reads slowed by `readDelayMs`, flushes counted. */
function twoExports(readDelayMs: number, flushes: { count: number }) {
  return (backend: BlockBackend): ExportProvider => {
    const slow: BlockBackend = Object.create(backend);
    slow.read = async (into, offset) => {
      await new Promise((r) => setTimeout(r, readDelayMs));
      return backend.read(into, offset);
    };
    slow.flush = async () => {
      flushes.count++;
      return backend.flush();
    };
    return {
      list: () => [{ name: 'a' }, { name: 'b' }],
      open: (name) =>
        name === 'a' || name === 'b'
          ? { name, backend: slow, readOnly: false, release: () => {} }
          : { kind: 'unknown', message: `no export '${name}'` },
    };
  };
}

describe('nbd server lifecycle', () => {
  it('stops reading a client that pipelines without reading replies (memory stays bounded)', async () => {
    const srv = await serve({ maxInFlightBytesPerConnection: 4 * MiB });
    const c = await client(srv);
    await c.handshake('disk', { structured: true });
    c.socket.pause();
    const before = process.memoryUsage().arrayBuffers;
    const requests = 200;
    for (let i = 0; i < requests; i++) {
      await c.sendRequest(Cmd.READ, { cookie: BigInt(i), offset: (i % 64) * MiB, length: MiB });
    }
    await new Promise((r) => setTimeout(r, 1_000));
    const grown = process.memoryUsage().arrayBuffers - before;
    // 200 MiB of replies were asked for; the server holds a few MiB and waits.
    expect(grown).toBeLessThan(48 * MiB);
    c.socket.resume();
    const seen = new Set<bigint>();
    for (let i = 0; i < requests; i++) {
      const reply = await c.readReply(20_000);
      expect(reply.type).toBe(ReplyType.OFFSET_DATA);
      expect(reply.payload.length).toBe(8 + MiB);
      seen.add(reply.cookie);
    }
    expect(seen.size).toBe(requests);
  });

  it('lists connections and disconnects those a policy change names, leaving the others', async () => {
    const flushes = { count: 0 };
    const srv = await serve({ provider: twoExports(0, flushes) });
    const a = await client(srv);
    await a.handshake('a', { structured: true });
    const b = await client(srv);
    await b.handshake('b', { structured: true });
    await b.sendRequest(Cmd.READ, { cookie: 1n, length: 512 });
    await b.readReply();
    const names = srv.server.connections().map((x) => x.exportName);
    expect(names.sort()).toEqual(['a', 'b']);
    expect(srv.server.connections()[0].address).toBe('127.0.0.1');
    await srv.server.disconnectWhere((x) => x.exportName === 'a');
    expect(await a.closedWithin()).toBe(true);
    await b.sendRequest(Cmd.READ, { cookie: 2n, length: 512 });
    expect((await b.readReply()).cookie).toBe(2n);
    expect(srv.server.connections().map((x) => x.exportName)).toEqual(['b']);
  });

  it('close() finishes requests already received, flushes, then closes; new clients are refused', async () => {
    const flushes = { count: 0 };
    const srv = await serve({ provider: twoExports(300, flushes) });
    const c = await client(srv);
    await c.handshake('a', { structured: true });
    await c.sendRequest(Cmd.READ, { cookie: 42n, offset: MiB, length: 4096 });
    await new Promise((r) => setTimeout(r, 50));
    const closing = srv.server.close();
    const reply = await c.readReply();
    expect(reply.cookie).toBe(42n);
    expect(reply.type).toBe(ReplyType.OFFSET_DATA);
    await closing;
    expect(await c.closedWithin()).toBe(true);
    expect(flushes.count).toBe(1);
    await expect(RawNbdClient.connect(srv.port)).rejects.toThrow();
    await srv.server.close(); // idempotent
  });
});
