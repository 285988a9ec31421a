// The NBD client against real servers: bytes written come back, and qemu-io (another client)
// sees them too; zero, trim, block status on a sparse file; 1000 requests in flight; multi-conn.

import { open, truncate } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../agent/backend/block-backend.js';
import { openRemoteBackend } from '../../agent/backend/remote-backend.js';
import { NbdClient } from '../../agent/nbd/client/nbd-client.js';
import { STATE_HOLE, STATE_ZERO } from '../../agent/nbd/wire.js';
import {
  freePort,
  patternBuffer,
  qemuIo,
  type ServerProcess,
  startNbdkit,
  startQemuNbd,
  tempDir,
} from './nbd-client-peers.js';

process.env.FERRY_LOG = 'quiet';
const MiB = 1024 * 1024;

let tmp: { dir: string; remove(): Promise<void> };
const servers: ServerProcess[] = [];
const clients: NbdClient[] = [];

beforeAll(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await tmp.remove();
});

async function connect(server: ServerProcess, extra: Partial<Parameters<typeof NbdClient.connect>[0]> = {}) {
  const client = await NbdClient.connect({ host: '127.0.0.1', port: server.port, exportName: '', ...extra });
  clients.push(client);
  return client;
}

async function sparseFile(name: string, size: number): Promise<string> {
  const file = path.join(tmp.dir, name);
  await (await open(file, 'w')).close();
  await truncate(file, size);
  return file;
}

describe('NbdClient with nbdkit', () => {
  it('writes patterns that read back identical and that qemu-io sees', async () => {
    const server = await startNbdkit(['memory', '64M']);
    servers.push(server);
    const client = await connect(server);
    expect(client.size).toBe(64 * MiB);
    expect(client.canFlush && client.canFua && client.canTrim && client.canZero).toBe(true);

    const data = patternBuffer(3 * MiB, 7);
    await client.pwrite(data, 5 * MiB + 512, { fua: true });
    await client.pwrite(Buffer.alloc(64 * 1024, 0xa5), 20 * MiB);
    await client.flush();

    const back = Buffer.alloc(data.length);
    await client.pread(back, 5 * MiB + 512);
    expect(back.equals(data)).toBe(true);

    await qemuIo(`nbd://127.0.0.1:${server.port}/`, [
      `read -P 0xa5 ${20 * MiB} 65536`,
      `read -P 0 0 ${5 * MiB}`,
    ]);
    await qemuIo(`nbd://127.0.0.1:${server.port}/`, ['write -P 0x3c 1M 128k']);
    const third = Buffer.alloc(128 * 1024);
    await client.pread(third, MiB);
    expect(third.every((b) => b === 0x3c)).toBe(true);
  });

  it('splits a request larger than the maximum block size', async () => {
    const server = await startNbdkit(
      ['memory', '64M', 'blocksize-maximum=65536', 'blocksize-error-policy=error'],
      {
        extra: ['--filter=blocksize-policy'],
      },
    );
    servers.push(server);
    const client = await connect(server);
    expect(client.blockSizes.maximum).toBe(65536);
    const data = patternBuffer(MiB + 4096, 3);
    await client.pwrite(data, 4096);
    const back = Buffer.alloc(data.length);
    await client.pread(back, 4096);
    expect(back.equals(data)).toBe(true);
  });

  it('zeroes, trims and reports block status on a sparse file', async () => {
    const file = await sparseFile('sparse.img', 32 * MiB);
    const server = await startNbdkit(['file', file]);
    servers.push(server);
    const client = await connect(server);
    expect(client.canBlockStatus).toBe(true);

    await client.pwrite(Buffer.alloc(MiB, 0x11), 4 * MiB);
    const extents = await client.blockStatus(0, 32 * MiB);
    expect(extents.reduce((n, e) => n + e.length, 0)).toBeLessThanOrEqual(32 * MiB);
    let at = 0;
    const dataAt4M = extents.find((e) => {
      const hit = at <= 4 * MiB && 4 * MiB < at + e.length;
      at += e.length;
      return hit;
    });
    expect(dataAt4M && (dataAt4M.flags & STATE_HOLE) === 0).toBe(true);
    expect(extents[0].flags & (STATE_HOLE | STATE_ZERO)).toBe(STATE_HOLE | STATE_ZERO);

    await client.zero(4 * MiB, 256 * 1024, { noHole: true });
    await client.trim(4 * MiB + 512 * 1024, 512 * 1024);
    await client.zero(4 * MiB + 256 * 1024, 256 * 1024);
    await client.flush();
    await qemuIo(`nbd://127.0.0.1:${server.port}/`, [`read -P 0 ${4 * MiB} ${512 * 1024}`]);
    const rest = Buffer.alloc(MiB);
    await client.pread(rest, 4 * MiB);
    expect(rest.subarray(0, 512 * 1024).every((b) => b === 0)).toBe(true);
  });

  it('keeps 1000 requests in flight and matches every reply to its request', async () => {
    const server = await startNbdkit(['memory', '64M']);
    servers.push(server);
    const client = await connect(server, { connections: 1, maxInFlight: 1000 });
    const block = 4096;
    const writes = Array.from({ length: 1000 }, (_, i) =>
      client.pwrite(patternBuffer(block, i), i * block * 3),
    );
    await Promise.all(writes);
    const buffers = Array.from({ length: 1000 }, () => Buffer.alloc(block));
    await Promise.all(buffers.map((b, i) => client.pread(b, i * block * 3)));
    for (let i = 0; i < 1000; i++) expect(buffers[i].equals(patternBuffer(block, i))).toBe(true);
  });

  it('opens several connections when the server allows multi-conn, and only then', async () => {
    const server = await startNbdkit(['memory', '64M']);
    servers.push(server);
    const client = await connect(server, { connections: 4 });
    expect(client.canMultiConn).toBe(true);
    expect(client.connectionCount).toBe(4);
    const parts = Array.from({ length: 64 }, (_, i) =>
      client.pwrite(patternBuffer(256 * 1024, i), i * 256 * 1024),
    );
    await Promise.all(parts);
    await client.flush();
    await qemuIo(`nbd://127.0.0.1:${server.port}/`, ['read 0 16M']);
    const back = Buffer.alloc(256 * 1024);
    await client.pread(back, 63 * 256 * 1024);
    expect(back.equals(patternBuffer(256 * 1024, 63))).toBe(true);

    const single = await startNbdkit(['memory', '8M', 'multi-conn-mode=disable'], {
      extra: ['--filter=multi-conn'],
    });
    servers.push(single);
    const one = await connect(single, { connections: 4 });
    expect(one.canMultiConn).toBe(false);
    expect(one.connectionCount).toBe(1);

    // A server that caps its clients: the client keeps the connections it got.
    const capped = await startNbdkit(['memory', '8M', 'limit=2'], { extra: ['--filter=limit'] });
    servers.push(capped);
    const two = await connect(capped, { connections: 4 });
    expect(two.connectionCount).toBe(2);
    await two.pwrite(Buffer.alloc(4096, 9), 0);
  });

  it('surfaces server errors as BackendError with the errno', async () => {
    const server = await startNbdkit(['memory', '1M']);
    servers.push(server);
    const client = await connect(server);
    const past = client.pwrite(Buffer.alloc(4096), MiB);
    await expect(past).rejects.toBeInstanceOf(BackendError);
    await expect(past).rejects.toMatchObject({ errno: 'ENOSPC' });
    await expect(client.pread(Buffer.alloc(4096), MiB)).rejects.toMatchObject({ errno: 'EINVAL' });
    // The connection survives errors.
    await client.pwrite(Buffer.alloc(4096, 1), 0);

    const ro = await startNbdkit(['memory', '1M'], { readOnly: true });
    servers.push(ro);
    const roClient = await connect(ro);
    expect(roClient.readOnly).toBe(true);
    await expect(roClient.pwrite(Buffer.alloc(512), 0)).rejects.toMatchObject({ errno: 'EPERM' });
  });

  it('reports an unknown export clearly and closes idempotently', async () => {
    const file = await sparseFile('named.img', 4 * MiB);
    const server = await startQemuNbd(file);
    servers.push(server);
    await expect(
      NbdClient.connect({ host: '127.0.0.1', port: server.port, exportName: 'nope' }),
    ).rejects.toThrow(/no export named 'nope'/);
    const client = await connect(server, { exportName: 'disk' });
    await client.pwrite(patternBuffer(65536, 9), 65536);
    await client.close();
    await client.close();
    await expect(client.pread(Buffer.alloc(512), 0)).rejects.toMatchObject({ errno: 'ESHUTDOWN' });
  });
});

describe('NbdClient over IPv6', () => {
  it('reaches nbd://[::1]:PORT/ through the remote backend', async () => {
    const port = await freePort();
    const proc = await startNbdkit(['memory', '8M'], { port, host: '::1' });
    servers.push(proc);
    const backend = await openRemoteBackend({ url: `nbd://[::1]:${port}/` });
    try {
      expect(backend.size()).toBe(8 * MiB);
      await backend.write(Buffer.alloc(65536, 0x5a), 65536, { fua: true });
      const back = Buffer.alloc(65536);
      await backend.read(back, 65536);
      expect(back.every((b) => b === 0x5a)).toBe(true);
      const extents = await backend.extents(0, 8 * MiB);
      expect(extents.length).toBeGreaterThan(0);
    } finally {
      await backend.close();
    }
  });
});

describe('NbdClient with qemu-nbd', () => {
  it('round-trips data and qemu-io verifies it', async () => {
    const file = await sparseFile('qemu.img', 16 * MiB);
    const server = await startQemuNbd(file);
    servers.push(server);
    const client = await connect(server, { exportName: 'disk' });
    await client.pwrite(Buffer.alloc(MiB, 0x42), 2 * MiB, { fua: true });
    await client.zero(3 * MiB, MiB, { noHole: true });
    await client.flush();
    const back = Buffer.alloc(MiB);
    await client.pread(back, 2 * MiB);
    expect(back.every((b) => b === 0x42)).toBe(true);
    const extents = await client.blockStatus(0, 16 * MiB);
    expect(extents.length).toBeGreaterThan(1);
    await client.close();
    await qemuIo(`nbd://127.0.0.1:${server.port}/disk`, [
      `read -P 0x42 ${2 * MiB} ${MiB}`,
      `read -P 0 ${3 * MiB} ${MiB}`,
    ]);
  });
});
