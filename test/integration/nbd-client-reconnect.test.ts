// The remote backend's link: a server killed mid-stream and restarted on the same port; requests
// wait and complete (and their bytes are really there, checked with qemu-io); with a short timeout
// they fail with EIO naming the remote; failFast fails at once and still reconnects.

import { randomBytes } from 'node:crypto';
import { open, readFile, truncate } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../agent/backend/block-backend.js';
import { openRemoteBackend, type RemoteBackend } from '../../agent/backend/remote-backend.js';
import {
  patternBuffer,
  qemuIo,
  type ServerProcess,
  startNbdkit,
  tempDir,
  writePskFile,
} from './nbd-client-peers.js';

process.env.FERRY_LOG = 'quiet';
const MiB = 1024 * 1024;

let tmp: { dir: string; remove(): Promise<void> };
const servers: ServerProcess[] = [];
const backends: RemoteBackend[] = [];

beforeAll(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await tmp.remove();
});

async function diskFile(name: string, size = 32 * MiB): Promise<string> {
  const file = path.join(tmp.dir, name);
  await (await open(file, 'w')).close();
  await truncate(file, size);
  return file;
}

/** SIGSTOP is delivered asynchronously: on a busy machine the server may still answer for a moment. */
async function untilStopped(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} did not stop`);
}

async function serve(file: string, port?: number, pskFile?: string): Promise<ServerProcess> {
  const server = await startNbdkit(['file', file], { port, pskFile });
  servers.push(server);
  return server;
}

async function remote(port: number, extra: { timeoutMs?: number; failFast?: boolean } = {}) {
  const backend = await openRemoteBackend({ url: `nbd://127.0.0.1:${port}/`, ...extra });
  backends.push(backend);
  return backend;
}

function nextState(backend: RemoteBackend, want: string): Promise<void> {
  return new Promise((resolve) => {
    const off = backend.onStateChange((s) => {
      if (s === want) {
        off();
        resolve();
      }
    });
  });
}

describe('remote backend link', () => {
  it('holds requests while the server is down and completes them when it is back', async () => {
    const file = await diskFile('restart.img');
    // The first server answers writes slowly, so the writes below are surely in flight when it dies.
    const first = await startNbdkit(['file', file, 'delay-write=300ms'], { extra: ['--filter=delay'] });
    servers.push(first);
    const backend = await remote(first.port, { timeoutMs: 20_000 });
    await backend.write(Buffer.alloc(MiB, 0x11), 0);

    const reconnecting = nextState(backend, 'reconnecting');
    const writes = Array.from({ length: 32 }, (_, i) =>
      backend.write(patternBuffer(256 * 1024, i), MiB + i * 256 * 1024),
    );
    await new Promise((r) => setTimeout(r, 100));
    await first.stop();
    await reconnecting;
    expect(backend.isConnected()).toBe(false);

    // New requests while it is down wait too.
    const lateWrite = backend.write(Buffer.alloc(MiB, 0x22), 20 * MiB);
    const lateRead = Buffer.alloc(MiB);
    const reading = backend.read(lateRead, 0);
    await new Promise((r) => setTimeout(r, 500));

    const connected = nextState(backend, 'connected');
    await serve(file, first.port);
    await connected;
    await Promise.all([...writes, lateWrite, reading]);
    expect(lateRead.every((b) => b === 0x11)).toBe(true);
    await backend.flush();

    for (let i = 0; i < 32; i++) {
      const back = Buffer.alloc(256 * 1024);
      await backend.read(back, MiB + i * 256 * 1024);
      expect(back.equals(patternBuffer(256 * 1024, i))).toBe(true);
    }
    await qemuIo(`nbd://127.0.0.1:${first.port}/`, [
      `read -P 0x22 ${20 * MiB} ${MiB}`,
      `read -P 0x11 0 ${MiB}`,
    ]);
  });

  it('fails with EIO after the timeout, naming the remote and the wait', async () => {
    const file = await diskFile('timeout.img');
    const server = await serve(file);
    const backend = await remote(server.port, { timeoutMs: 1000 });
    await server.stop();
    const started = Date.now();
    const err = await backend.write(Buffer.alloc(4096), 0).catch((e: unknown) => e);
    const waited = Date.now() - started;
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).errno).toBe('EIO');
    expect((err as BackendError).message).toMatch(
      /nbd:\/\/127\.0\.0\.1:\d+\/.*no working link \(waited 1\.\d s\)/,
    );
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(3000);
  });

  it('stopWaiting (an agent stopping) fails the waiting requests now, and later ones at once', async () => {
    const file = await diskFile('stop-waiting.img');
    const server = await serve(file);
    const backend = await remote(server.port, { timeoutMs: 60_000 });
    await server.stop();
    const waiting = backend.write(Buffer.alloc(4096), 0).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    backend.stopWaiting('this agent is stopping');
    const err = (await waiting) as BackendError;
    expect(err).toBeInstanceOf(BackendError);
    expect(err.errno).toBe('EIO');
    expect(err.message).toMatch(
      /no working link \(waited 0\.\d s\); not waiting for it: this agent is stopping/,
    );
    const later = (await backend.flush().catch((e: unknown) => e)) as BackendError;
    expect(later.message).toMatch(/FLUSH.*no working link \(failing fast\); not waiting for it/);
  });

  it('drops a link whose server hangs (SIGSTOP) and fails fast, then recovers after SIGCONT', async () => {
    const file = await diskFile('hang.img', 8 * MiB);
    const server = await serve(file);
    const backend = await openRemoteBackend({
      url: `nbd://127.0.0.1:${server.port}/`,
      failFast: true,
      stallTimeoutMs: 500,
      timeoutMs: 5_000,
    });
    backends.push(backend);
    await backend.write(Buffer.alloc(4096, 3), 0);
    server.proc.kill('SIGSTOP');
    await untilStopped(server.proc.pid!);
    try {
      const started = Date.now();
      const err = await backend.read(Buffer.alloc(4096), 0).catch((e: unknown) => e);
      expect((err as BackendError).errno).toBe('EIO');
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(backend.isConnected()).toBe(false);
    } finally {
      server.proc.kill('SIGCONT');
    }
    const up = nextState(backend, 'connected');
    await up;
    const back = Buffer.alloc(4096);
    await backend.read(back, 0);
    expect(back.every((b) => b === 3)).toBe(true);
  });

  it('fails fast while the link is down and reconnects in the background', async () => {
    const file = await diskFile('failfast.img');
    const server = await serve(file);
    const backend = await remote(server.port, { failFast: true });
    await backend.write(Buffer.alloc(4096, 1), 0);
    const down = nextState(backend, 'reconnecting');
    await server.stop();
    await down;
    const started = Date.now();
    await expect(backend.read(Buffer.alloc(4096), 0)).rejects.toMatchObject({ errno: 'EIO' });
    expect(Date.now() - started).toBeLessThan(1000); // without failFast it would wait for the timeout

    const up = nextState(backend, 'connected');
    await serve(file, server.port);
    await up;
    const back = Buffer.alloc(4096);
    await backend.read(back, 0);
    expect(back.every((b) => b === 1)).toBe(true);
  });

  it('reconnects over TLS-PSK with the same key', async () => {
    const file = await diskFile('tls.img', 8 * MiB);
    const key = randomBytes(32);
    const pskFile = await writePskFile(tmp.dir, 'peer-a', key);
    const server = await serve(file, undefined, pskFile);
    const backend = await openRemoteBackend({
      url: `nbds://peer-a@127.0.0.1:${server.port}/`,
      pskKey: key,
      timeoutMs: 20_000,
    });
    backends.push(backend);
    const down = nextState(backend, 'reconnecting');
    await server.stop();
    await down;
    const write = backend.write(patternBuffer(MiB, 5), MiB);
    const up = nextState(backend, 'connected');
    await serve(file, server.port, pskFile);
    await up;
    await write;
    const back = Buffer.alloc(MiB);
    await backend.read(back, MiB);
    expect(back.equals(patternBuffer(MiB, 5))).toBe(true);
  });

  it('close() lets requests in flight finish, then refuses new ones', async () => {
    const file = await diskFile('drain.img', 8 * MiB);
    const server = await startNbdkit(['file', file, 'delay-write=100ms'], { extra: ['--filter=delay'] });
    servers.push(server);
    const backend = await remote(server.port);
    const writes = Array.from({ length: 16 }, (_, i) => backend.write(Buffer.alloc(65536, i + 1), i * 65536));
    await new Promise((r) => setTimeout(r, 20));
    await backend.close();
    await Promise.all(writes);
    await expect(backend.write(Buffer.alloc(512), 0)).rejects.toMatchObject({ errno: 'ESHUTDOWN' });
    await qemuIo(`nbd://127.0.0.1:${server.port}/`, ['read -P 0x10 983040 65536', 'read -P 0x01 0 65536']);
  });

  it('closes idempotently and refuses requests afterwards', async () => {
    const file = await diskFile('close.img', 4 * MiB);
    const server = await serve(file);
    const backend = await remote(server.port);
    const states: string[] = [];
    backend.onStateChange((s) => states.push(s));
    await backend.close();
    await backend.close();
    expect(states).toEqual(['closed']);
    await expect(backend.read(Buffer.alloc(512), 0)).rejects.toMatchObject({ errno: 'ESHUTDOWN' });
  });
});
