// Builds the Pool object for a pool record (one place that knows every kind of pool).

import type { PoolRecord } from '../state/inventory.js';
import { DevicePool } from './device-pool.js';
import { DirPool } from './dir-pool.js';
import type { Pool } from './pool.js';

export function createPool(record: PoolRecord): Pool {
  switch (record.kind) {
    case 'dir':
      return new DirPool(record);
    case 'device':
      return new DevicePool(record);
  }
}
