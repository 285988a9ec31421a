// A device pool: existing block devices (disks, partitions, LVM LVs, loop devices); one LV is one
// whole device. An LV created with a size gets the smallest free device at least that large (best
// fit). Devices are checked by agent/safety (unused, no data on them) when the pool is added.

import { FerryError } from '../../shared/errors.js';
import { type AdmitOptions, admitDevices, type ForcedDevice } from '../safety/device-admission.js';
import type { LvRecord, PoolRecord } from '../state/inventory.js';
import { type BlockDeviceFacts, inspectBlockDevice } from './block-device.js';
import { noSpaceError, type Pool, type PoolUsage } from './pool.js';

type DevicePoolRecord = Extract<PoolRecord, { kind: 'device' }>;

export class DevicePool implements Pool {
  readonly isBlockDevice = true;
  readonly newLvsReadAsZero = false;

  constructor(readonly record: DevicePoolRecord) {}

  /**
   * At `pool add`: every device exists, is a block device, and is named once; then the safety gate
   * (agent/safety) refuses devices that hold data or are in use, unless `force` (what it took is returned).
   */
  async validateNew(safety: Omit<AdmitOptions, 'pool'> = {}): Promise<ForcedDevice[]> {
    const facts = await this.inspectAll();
    const seen = new Set<string>();
    for (const f of facts) {
      if (seen.has(f.devno)) {
        throw new FerryError('ERR_INVALID_ARGUMENT', `device ${f.path} is named twice (device ${f.devno})`);
      }
      seen.add(f.devno);
    }
    return admitDevices(this.record.devices, { ...safety, pool: this.record.name });
  }

  async validate(): Promise<void> {
    await this.inspectAll();
  }

  async usage(lvs: readonly LvRecord[]): Promise<PoolUsage> {
    const facts = await this.inspectAll();
    const taken = new Set(this.mine(lvs).map((lv) => lv.path));
    const size = facts.reduce((sum, f) => sum + f.size, 0);
    const used = facts.filter((f) => taken.has(f.path)).reduce((sum, f) => sum + f.size, 0);
    return { size, used, free: size - used };
  }

  async assertFits(size: number, lvs: readonly LvRecord[]): Promise<void> {
    await this.pickDevice(size, lvs);
  }

  async createLv(name: string, size: number, lvs: readonly LvRecord[]): Promise<LvRecord> {
    const device = await this.pickDevice(size, lvs);
    return {
      pool: this.record.name,
      name,
      size: device.size,
      path: device.path,
      createdAt: new Date().toISOString(),
    };
  }

  async deleteLv(_lv: LvRecord): Promise<void> {
    // The device goes back to the pool as it is; its content is not wiped.
  }

  async allocatedBytes(_lv: LvRecord): Promise<number | null> {
    return null;
  }

  private async pickDevice(size: number, lvs: readonly LvRecord[]): Promise<BlockDeviceFacts> {
    const taken = new Set(this.mine(lvs).map((lv) => lv.path));
    const free = (await this.inspectAll()).filter((f) => !taken.has(f.path)).sort((a, b) => a.size - b.size);
    const fit = free.find((f) => f.size >= size);
    if (fit) return fit;
    const largest = free.length > 0 ? free[free.length - 1].size : 0;
    const total = free.reduce((sum, f) => sum + f.size, 0);
    throw noSpaceError(
      this.record.name,
      size,
      total,
      `; an LV is one whole device and the largest free device has ${largest} bytes (${free.length} free)`,
    );
  }

  private mine(lvs: readonly LvRecord[]): LvRecord[] {
    return lvs.filter((lv) => lv.pool === this.record.name);
  }

  private inspectAll(): Promise<BlockDeviceFacts[]> {
    return Promise.all(this.record.devices.map((d) => inspectBlockDevice(d)));
  }
}
