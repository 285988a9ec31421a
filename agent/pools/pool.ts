// What every kind of pool offers the volume layer: space accounting, and creating/deleting the LVs
// it holds. Opening an LV for I/O is not a pool's job: the chain factory opens `lv.path` (a file or a
// block device, `isBlockDevice` says which).
//
// Pools are stateless views over their PoolRecord; the LV records they need are passed in (they
// live in the inventory document, written by the caller).

import { FerryError } from '../../shared/errors.js';
import { formatSizeApprox } from '../../shared/names.js';
import type { LvRecord, PoolRecord } from '../state/inventory.js';

export interface PoolUsage {
  /** Total bytes the pool can hold (used + free). */
  size: number;
  /** Bytes reserved by its LVs (their full sizes: a sparse LV may grow to its size). */
  used: number;
  /** Bytes a new LV may still take. */
  free: number;
}

export interface Pool {
  readonly record: PoolRecord;
  /** LVs of this pool are block devices (vs regular files). */
  readonly isBlockDevice: boolean;
  /**
   * A new LV reads as zeroes until written (a new sparse file). A move into such an LV skips the
   * source's zero regions instead of sending them; a device keeps whatever it held before.
   */
  readonly newLvsReadAsZero: boolean;
  /** Checks the pool's backing store is there and usable (at `pool add` and at start). */
  validate(): Promise<void>;
  usage(lvs: readonly LvRecord[]): Promise<PoolUsage>;
  /** Throws ERR_NO_SPACE, with the figures, when an LV of `size` cannot be created now. */
  assertFits(size: number, lvs: readonly LvRecord[]): Promise<void>;
  /** Creates the LV's storage and returns its record (not yet in the inventory). */
  createLv(name: string, size: number, lvs: readonly LvRecord[]): Promise<LvRecord>;
  /** Releases the LV's storage (its record is already gone from the inventory). */
  deleteLv(lv: LvRecord): Promise<void>;
  /** Bytes allocated on disk, or null when the pool cannot tell (devices). */
  allocatedBytes(lv: LvRecord): Promise<number | null>;
}

export function noSpaceError(pool: string, size: number, free: number, extra = ''): FerryError {
  return new FerryError(
    'ERR_NO_SPACE',
    `pool ${pool} has ${formatSizeApprox(free)} free (${free} bytes), ${formatSizeApprox(size)} (${size} bytes) requested${extra}`,
    { pool, requested: size, free },
  );
}
