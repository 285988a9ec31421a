// The threaded remote backend a move's copy uses: its NBD client (TLS-PSK) runs in a worker thread
// started from the code the agent bundle embeds. The bytes must arrive exactly, from shared and
// private buffers alike (checked independently with qemu-io over TLS), reads and extents come back,
// a failed open is the same FerryError as without a thread, and a closed backend refuses requests.

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../agent/backend/block-backend.js';
import {
  openThreadedRemoteBackend,
  setRemoteWorkerCode,
} from '../../agent/backend/threaded-remote-backend.js';
import { FerryError } from '../../shared/errors.js';
import { remoteWorkerCode } from '../helpers/agent-bundle.js';
import { type ServerProcess, startNbdkit, tempDir, writePskFile } from './nbd-client-peers.js';

const run = promisify(execFile);
const identity = 'ferry-copy-worker';
const key = randomBytes(32);
const MiB = 1024 * 1024;
let tmp: { dir: string; remove(): Promise<void> };
let pskFile: string;
let server: ServerProcess | undefined;

beforeAll(async () => {
  tmp = await tempDir('ferry-copy-worker-');
  pskFile = await writePskFile(tmp.dir, identity, key);
  setRemoteWorkerCode(await remoteWorkerCode());
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
});
afterAll(async () => {
  setRemoteWorkerCode(null);
  await tmp.remove();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('threaded remote backend (the move copy worker)', () => {
  it('writes shared and private buffers exactly, reads them back, and nbdcopy sees the same bytes', async () => {
    server = await startNbdkit(['memory', '16M'], { pskFile });
    const url = `nbds://${identity}@127.0.0.1:${server.port}/`;
    const backend = await openThreadedRemoteBackend({ url, pskKey: key, failFast: true });
    try {
      expect(backend.size()).toBe(16 * MiB);
      // A chunk buffer as the copy passes make it (shared memory), written from an offset inside it.
      const shared = Buffer.from(new SharedArrayBuffer(4 * MiB));
      randomBytes(4 * MiB).copy(shared);
      const piece = shared.subarray(MiB, 3 * MiB);
      const priv = randomBytes(MiB + 4096);
      await Promise.all([backend.write(piece, 0), backend.write(priv, 4 * MiB)]);
      await backend.zero(8 * MiB, MiB);
      await backend.flush();

      const backShared = Buffer.from(new SharedArrayBuffer(2 * MiB));
      const backPrivate = Buffer.alloc(priv.length);
      await Promise.all([backend.read(backShared, 0), backend.read(backPrivate, 4 * MiB)]);
      expect(sha(backShared)).toBe(sha(piece));
      expect(sha(backPrivate)).toBe(sha(priv));
      const extents = await backend.extents(8 * MiB, MiB);
      expect(extents.reduce((n, e) => n + e.length, 0)).toBeGreaterThan(0);

      // Independently: nbdcopy (libnbd) over TLS-PSK reads what the worker wrote.
      const image = path.join(tmp.dir, 'copy.img');
      await run('nbdcopy', [`${url}?tls-psk-file=${pskFile}`, image]);
      const file = await readFile(image);
      expect(sha(file.subarray(0, 2 * MiB))).toBe(sha(piece));
      expect(sha(file.subarray(4 * MiB, 4 * MiB + priv.length))).toBe(sha(priv));
      expect(file.subarray(8 * MiB, 9 * MiB).every((b) => b === 0)).toBe(true);
    } finally {
      await backend.close();
    }
    await expect(backend.write(Buffer.alloc(4096), 0)).rejects.toBeInstanceOf(BackendError);
  });

  it('fails to open with the same FerryError codes as the unthreaded backend', async () => {
    server = await startNbdkit(['memory', '1M'], { pskFile });
    const url = `nbds://${identity}@127.0.0.1:${server.port}/`;
    const wrong = await openThreadedRemoteBackend({ url, pskKey: randomBytes(32) }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(FerryError);
    expect((wrong as FerryError).code).toBe('ERR_AUTH');
  });
});
