// Dir pool space: without --capacity the pool offers what the filesystem can still hold minus what
// its sparse LVs may still grow into, so thin files never let the pool overcommit the disk.
import { mkdtempSync, rmSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirPool } from '../../agent/pools/dir-pool.js';
import type { LvRecord } from '../../agent/state/inventory.js';

const MiB = 1024 * 1024;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-dirpool-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('DirPool', () => {
  it('reserves an LV thick against the filesystem free space', async () => {
    const pool = new DirPool({ kind: 'dir', name: 'p', path: dir, createdAt: 'now' });
    await pool.validate();
    const lvs: LvRecord[] = [];
    const before = await pool.usage(lvs);
    lvs.push(await pool.createLv('a', 64 * MiB, lvs));
    const after = await pool.usage(lvs);
    expect(after.used).toBe(64 * MiB);
    // Other processes write to this filesystem too: allow a few MiB of drift.
    expect(Math.abs(before.free - 64 * MiB - after.free)).toBeLessThan(16 * MiB);
    const fs = await statfs(dir);
    await expect(pool.assertFits(fs.bavail * fs.bsize + MiB, lvs)).rejects.toMatchObject({
      code: 'ERR_NO_SPACE',
    });
    await expect(pool.createLv('a', MiB, [])).rejects.toMatchObject({ code: 'ERR_ALREADY_EXISTS' });
  });

  it('uses the capacity the admin set', async () => {
    const pool = new DirPool({ kind: 'dir', name: 'p', path: dir, capacity: 100 * MiB, createdAt: 'now' });
    const lvs = [await pool.createLv('a', 30 * MiB, [])];
    expect(await pool.usage(lvs)).toEqual({ size: 100 * MiB, used: 30 * MiB, free: 70 * MiB });
    expect(await pool.allocatedBytes(lvs[0])).toBeLessThan(MiB);
  });
});

describe('DirPool stray files', () => {
  it('names .img files that no LV record owns', async () => {
    const pool = new DirPool({ kind: 'dir', name: 'p', path: dir, createdAt: 'now' });
    const lv = await pool.createLv('kept', MiB, []);
    await pool.createLv('orphan', MiB, []);
    expect(await pool.strayFiles([lv])).toEqual([join(dir, 'orphan.img')]);
  });
});
