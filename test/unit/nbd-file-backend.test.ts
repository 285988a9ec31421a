// The file backend the NBD server serves from: I/O of every size, WRITE_ZEROES that keeps sparse
// files sparse, FAST_ZERO semantics, and allocation found by reading (bounded per call).

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackendError, type BlockBackend } from '../../agent/backend/block-backend.js';
import { openFileBackend } from '../../agent/backend/file-backend.js';
import { STATE_HOLE, STATE_ZERO } from '../../agent/nbd/wire.js';
import { sparseFile, tempDir } from '../helpers/nbd-file-server.js';

const MiB = 1024 * 1024;
let dir: { dir: string; cleanup: () => Promise<void> };
let path: string;
let backend: BlockBackend;

beforeEach(async () => {
  dir = await tempDir();
  path = await sparseFile(join(dir.dir, 'lv.img'), 256 * MiB);
  backend = await openFileBackend(path, {});
});

afterEach(async () => {
  await backend.close();
  await backend.close(); // idempotent
  await dir.cleanup();
});

describe('file backend', () => {
  it('reads back what it wrote, small (inline) and large (thread pool), with FUA', async () => {
    expect(backend.size()).toBe(256 * MiB);
    expect(backend.capabilities()).toMatchObject({ readOnly: false, canMultiConn: true, canFastZero: true });
    const small = Buffer.alloc(4096, 0xa1);
    const large = Buffer.alloc(3 * MiB, 0xb2);
    await backend.write(small, 12345, { fua: true });
    await backend.write(large, 100 * MiB);
    await backend.flush();
    const back = Buffer.alloc(3 * MiB);
    await backend.read(back, 100 * MiB);
    expect(back.equals(large)).toBe(true);
    const file = await readFile(path);
    expect(file.subarray(12345, 12345 + 4096).equals(small)).toBe(true);
  });

  it('large writes issued together (queued one at a time for a file) all land where they were sent', async () => {
    const writes = Array.from({ length: 12 }, (_, i) => backend.write(Buffer.alloc(MiB, i + 1), i * 2 * MiB));
    await Promise.all(writes);
    const file = await readFile(path);
    for (let i = 0; i < 12; i++) {
      const piece = file.subarray(i * 2 * MiB, i * 2 * MiB + MiB);
      expect(piece.every((b) => b === i + 1)).toBe(true);
    }
  });

  it('zero() writes nothing where the data already reads as zero: the file stays sparse', async () => {
    const before = (await stat(path)).blocks;
    await backend.zero(0, 64 * MiB, { mayTrim: false });
    expect((await stat(path)).blocks).toBe(before);
    await backend.write(Buffer.alloc(MiB, 7), 8 * MiB);
    await backend.zero(8 * MiB + 4096, 8192);
    const back = Buffer.alloc(3 * 4096);
    await backend.read(back, 8 * MiB);
    expect(back.subarray(0, 4096).every((b) => b === 7)).toBe(true);
    expect(back.subarray(4096, 3 * 4096).every((b) => b === 0)).toBe(true);
  });

  it('FAST_ZERO succeeds on zeroes and fails with ENOTSUP, untouched, on data', async () => {
    await backend.zero(0, 16 * MiB, { fastZero: true });
    await backend.write(Buffer.alloc(4096, 9), MiB);
    const err = await backend.zero(0, 2 * MiB, { fastZero: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).errno).toBe('ENOTSUP');
    const back = Buffer.alloc(4096);
    await backend.read(back, MiB);
    expect(back.every((b) => b === 9)).toBe(true);
  });

  it('reports zero blocks as hole+zero and data as 0, at most 64 MiB per call', async () => {
    await backend.write(Buffer.alloc(100, 1), 2 * MiB + 10);
    const extents = await backend.extents(0, 4 * MiB);
    expect(extents).toEqual([
      { length: 2 * MiB, flags: STATE_HOLE | STATE_ZERO },
      { length: 64 * 1024, flags: 0 },
      { length: 2 * MiB - 64 * 1024, flags: STATE_HOLE | STATE_ZERO },
    ]);
    const long = await backend.extents(0, 256 * MiB);
    const covered = long.reduce((sum, e) => sum + e.length, 0);
    expect(covered).toBeGreaterThan(0);
    expect(covered).toBeLessThanOrEqual(64 * MiB);
    // Unaligned queries start where asked.
    const unaligned = await backend.extents(2 * MiB - 100, 200);
    expect(unaligned).toEqual([
      { length: 100, flags: STATE_HOLE | STATE_ZERO },
      { length: 100, flags: 0 },
    ]);
  });

  it('opens read-only and refuses what is not a file or block device', async () => {
    const ro = await openFileBackend(path, { readOnly: true });
    expect(ro.capabilities()).toMatchObject({ readOnly: true, canTrim: false, canZero: false });
    await expect(ro.write(Buffer.alloc(512), 0)).rejects.toThrow();
    await ro.close();
    await expect(openFileBackend(dir.dir, { readOnly: true })).rejects.toThrow(
      /neither a regular file nor a block/,
    );
    await expect(openFileBackend(dir.dir, {})).rejects.toThrow(/EISDIR/);
    await expect(openFileBackend(join(dir.dir, 'missing'), {})).rejects.toThrow(/ENOENT/);
  });
});
