// A dir pool: each LV is a sparse file <name>.img in one folder.
// Capacity: the `--capacity` the admin set, else what the filesystem can still hold plus what the
// LVs already reserve. Space is reserved thick: an LV counts its full size as used, and the space its
// sparse file may still grow into is not offered to new LVs.

import { constants } from 'node:fs';
import { mkdir, open, readdir, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../../shared/errors.js';
import { fsyncDir } from '../state/atomic-file.js';
import type { LvRecord, PoolRecord } from '../state/inventory.js';
import { noSpaceError, type Pool, type PoolUsage } from './pool.js';

type DirPoolRecord = Extract<PoolRecord, { kind: 'dir' }>;

export class DirPool implements Pool {
  readonly isBlockDevice = false;
  readonly newLvsReadAsZero = true;

  constructor(readonly record: DirPoolRecord) {}

  async validate(): Promise<void> {
    await mkdir(this.record.path, { recursive: true, mode: 0o700 });
    const st = await stat(this.record.path);
    if (!st.isDirectory()) {
      throw new FerryError('ERR_INVALID_ARGUMENT', `pool folder ${this.record.path} is not a directory`);
    }
  }

  async usage(lvs: readonly LvRecord[]): Promise<PoolUsage> {
    const mine = lvs.filter((lv) => lv.pool === this.record.name);
    const used = mine.reduce((sum, lv) => sum + lv.size, 0);
    if (this.record.capacity !== undefined) {
      const size = this.record.capacity;
      return { size, used, free: Math.max(0, size - used) };
    }
    const fs = await statfs(this.record.path);
    const fsFree = fs.bavail * fs.bsize;
    let stillToAllocate = 0;
    for (const lv of mine) stillToAllocate += Math.max(0, lv.size - ((await this.allocatedBytes(lv)) ?? 0));
    const free = Math.max(0, fsFree - stillToAllocate);
    return { size: used + free, used, free };
  }

  async assertFits(size: number, lvs: readonly LvRecord[]): Promise<void> {
    const { free } = await this.usage(lvs);
    if (size > free) throw noSpaceError(this.record.name, size, free);
  }

  async createLv(name: string, size: number, lvs: readonly LvRecord[]): Promise<LvRecord> {
    await this.assertFits(size, lvs);
    const path = join(this.record.path, `${name}.img`);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new FerryError(
          'ERR_ALREADY_EXISTS',
          `file ${path} already exists in pool ${this.record.name} but is not one of its LVs; move it away or pick another name`,
        );
      }
      throw err;
    }
    try {
      await handle.truncate(size);
      await handle.sync();
    } catch (err) {
      await handle.close();
      await rm(path, { force: true });
      throw err;
    }
    await handle.close();
    await fsyncDir(this.record.path);
    return { pool: this.record.name, name, size, path, createdAt: new Date().toISOString() };
  }

  async deleteLv(lv: LvRecord): Promise<void> {
    await rm(lv.path, { force: true });
    await fsyncDir(this.record.path);
  }

  /** LV-like files (<name>.img) in the folder that no LV record names: left by an interrupted create or delete. */
  async strayFiles(lvs: readonly LvRecord[]): Promise<string[]> {
    const known = new Set(lvs.filter((lv) => lv.pool === this.record.name).map((lv) => lv.path));
    const entries = await readdir(this.record.path).catch(() => [] as string[]);
    return entries
      .filter((f) => f.endsWith('.img'))
      .map((f) => join(this.record.path, f))
      .filter((path) => !known.has(path));
  }

  async allocatedBytes(lv: LvRecord): Promise<number | null> {
    try {
      const st = await stat(lv.path);
      return st.blocks * 512;
    } catch {
      return null;
    }
  }
}
