// Pools and LVs of this agent: add/list/remove pools, create/list/delete LVs. Every change is one
// inventory transaction (durable before the call returns) and one event on the bus.
//
// For other modules: pool(name) gives the Pool object, lookupLv(pool, lv) an LV record,
// createLvInDraft(draft, ...) creates an LV inside a caller's inventory transaction (volume create),
// addDeleteGuard(fn) lets a module (the move engine) veto deleting an LV it uses.

import { FerryError } from '../../shared/errors.js';
import type { CreatedLv, LvInfo } from '../../shared/rpc/lvs.js';
import type { PoolInfo } from '../../shared/rpc/pools.js';
import type { Logger } from '../log.js';
import type { EventBus } from '../rpc/event-bus.js';
import type { ForcedDevice } from '../safety/device-admission.js';
import { checkDirPool } from '../safety/dir-pool-check.js';
import type { Inventory, InventoryData, LvRecord, PoolRecord } from '../state/inventory.js';
import { DevicePool } from './device-pool.js';
import { DirPool } from './dir-pool.js';
import type { Pool } from './pool.js';
import { createPool } from './pool-factory.js';

export type AddPoolRequest =
  | { kind: 'dir'; name: string; path: string; capacity?: number }
  | { kind: 'device'; name: string; devices: string[]; force?: boolean };

/** Returns why the LV may not be deleted now, or undefined. */
export type LvDeleteGuard = (pool: string, lv: string) => string | undefined;

export class PoolService {
  private readonly guards: LvDeleteGuard[] = [];

  constructor(
    private readonly inventory: Inventory,
    private readonly events: EventBus,
    private readonly log?: Logger,
  ) {}

  addDeleteGuard(guard: LvDeleteGuard): void {
    this.guards.push(guard);
  }

  pool(name: string, data: Readonly<InventoryData> = this.inventory.snapshot()): Pool {
    const record = data.pools.find((p) => p.name === name);
    if (!record) throw new FerryError('ERR_NOT_FOUND', `pool ${name} does not exist`, { pool: name });
    return createPool(record);
  }

  lookupLv(pool: string, name: string): { lv: LvRecord; isBlockDevice: boolean } | undefined {
    const data = this.inventory.snapshot();
    const lv = data.lvs.find((l) => l.pool === pool && l.name === name);
    const record = data.pools.find((p) => p.name === pool);
    return lv && record ? { lv, isBlockDevice: record.kind === 'device' } : undefined;
  }

  async add(req: AddPoolRequest): Promise<PoolInfo> {
    const info = await this.inventory.transaction(async (draft) => {
      if (draft.pools.some((p) => p.name === req.name)) {
        throw new FerryError('ERR_ALREADY_EXISTS', `pool ${req.name} already exists`, { pool: req.name });
      }
      const createdAt = new Date().toISOString();
      const record: PoolRecord =
        req.kind === 'dir'
          ? { kind: 'dir', name: req.name, path: req.path, capacity: req.capacity, createdAt }
          : { kind: 'device', name: req.name, devices: req.devices, createdAt };
      assertNotShared(draft, record);
      const pool = createPool(record);
      let forced: ForcedDevice[] = [];
      if (pool instanceof DevicePool) {
        const force = req.kind === 'device' && req.force === true;
        forced = await pool.validateNew({ force, otherPoolDevices: devicesOfPools(draft), log: this.log });
      } else {
        await pool.validate();
        if (record.kind === 'dir') await checkDirPool(record.path);
      }
      draft.pools.push(record);
      const info = await this.describe(pool, draft);
      return forced.length > 0 ? { ...info, forced } : info;
    });
    this.events.publish({
      type: 'pool.added',
      pool: req.name,
      ...(info.forced ? { forced: info.forced } : {}),
    });
    return info;
  }

  /**
   * Files in dir pools that look like LVs but are in no record (a crash between creating a file and
   * recording it, or between forgetting an LV and removing its file). Reported, never removed:
   * only an admin can tell such a file from someone else's.
   */
  async strayFiles(): Promise<string[]> {
    const data = this.inventory.snapshot();
    const found: string[] = [];
    for (const record of data.pools) {
      const pool = createPool(record);
      if (pool instanceof DirPool) found.push(...(await pool.strayFiles(data.lvs)));
    }
    return found;
  }

  async list(): Promise<PoolInfo[]> {
    const data = this.inventory.snapshot();
    return Promise.all(data.pools.map((p) => this.describe(createPool(p), data)));
  }

  async remove(name: string): Promise<void> {
    await this.inventory.transaction((draft) => {
      this.pool(name, draft);
      const lvs = draft.lvs.filter((lv) => lv.pool === name).map((lv) => lv.name);
      if (lvs.length > 0) {
        throw new FerryError(
          'ERR_VOLUME_BUSY',
          `pool ${name} still has ${lvs.length} LV(s): ${lvs.slice(0, 10).join(', ')}; delete them first`,
          { pool: name, lvs },
        );
      }
      draft.pools = draft.pools.filter((p) => p.name !== name);
    });
    this.events.publish({ type: 'pool.removed', pool: name });
  }

  async createLv(
    poolName: string,
    name: string,
    size: number,
  ): Promise<CreatedLv & { readsAsZero: boolean }> {
    const lv = await this.inventory.transaction((draft) => this.createLvInDraft(draft, poolName, name, size));
    this.events.publish({ type: 'lv.created', pool: poolName, lv: name, size: lv.size });
    const info = await this.describeLv(lv, this.inventory.snapshot());
    return { ...info, readsAsZero: this.pool(poolName).newLvsReadAsZero };
  }

  /**
   * Creates an LV's storage and adds its record to `draft` (inside the caller's transaction). If
   * the transaction then fails, the caller must call pool.deleteLv(lv) to give the storage back.
   */
  async createLvInDraft(
    draft: InventoryData,
    poolName: string,
    name: string,
    size: number,
  ): Promise<LvRecord> {
    const pool = this.pool(poolName, draft);
    if (draft.lvs.some((l) => l.pool === poolName && l.name === name)) {
      throw new FerryError('ERR_ALREADY_EXISTS', `LV ${poolName}/${name} already exists`, {
        pool: poolName,
        lv: name,
      });
    }
    const lv = await pool.createLv(name, size, draft.lvs);
    draft.lvs.push(lv);
    return lv;
  }

  async listLvs(poolName?: string): Promise<LvInfo[]> {
    const data = this.inventory.snapshot();
    if (poolName !== undefined) this.pool(poolName, data);
    const lvs = data.lvs.filter((lv) => poolName === undefined || lv.pool === poolName);
    return Promise.all(lvs.map((lv) => this.describeLv(lv, data)));
  }

  async deleteLv(poolName: string, name: string): Promise<void> {
    const lv = await this.inventory.transaction((draft) => this.removeLvFromDraft(draft, poolName, name));
    await this.pool(poolName).deleteLv(lv);
    this.events.publish({ type: 'lv.deleted', pool: poolName, lv: name });
  }

  /** Removes an unmapped LV's record from `draft`; the caller releases its storage after commit. */
  removeLvFromDraft(draft: InventoryData, poolName: string, name: string, ignoreVolume?: string): LvRecord {
    this.pool(poolName, draft);
    const lv = draft.lvs.find((l) => l.pool === poolName && l.name === name);
    if (!lv)
      throw new FerryError('ERR_NOT_FOUND', `LV ${poolName}/${name} does not exist`, {
        pool: poolName,
        lv: name,
      });
    const user = mappedBy(draft, poolName, name);
    if (user && user !== ignoreVolume) {
      throw new FerryError('ERR_VOLUME_BUSY', `LV ${poolName}/${name} is mapped by volume ${user}`, {
        pool: poolName,
        lv: name,
        volume: user,
      });
    }
    for (const guard of this.guards) {
      const reason = guard(poolName, name);
      if (reason) throw new FerryError('ERR_VOLUME_BUSY', `LV ${poolName}/${name} is in use: ${reason}`);
    }
    draft.lvs = draft.lvs.filter((l) => l !== lv);
    return lv;
  }

  private async describe(pool: Pool, data: Readonly<InventoryData>): Promise<PoolInfo> {
    const record = pool.record;
    const usage = await pool.usage(data.lvs);
    return {
      name: record.name,
      kind: record.kind,
      ...(record.kind === 'dir'
        ? { path: record.path, ...(record.capacity !== undefined ? { capacity: record.capacity } : {}) }
        : { devices: record.devices }),
      ...usage,
      lvCount: data.lvs.filter((lv) => lv.pool === record.name).length,
    };
  }

  private async describeLv(lv: LvRecord, data: Readonly<InventoryData>): Promise<LvInfo> {
    const pool = data.pools.find((p) => p.name === lv.pool);
    const allocated = pool ? await createPool(pool).allocatedBytes(lv) : null;
    return { ...lv, allocated, mappedBy: mappedBy(data, lv.pool, lv.name) ?? null };
  }
}

function mappedBy(data: Readonly<InventoryData>, pool: string, lv: string): string | undefined {
  return data.volumes.find(
    (v) => v.mapping.kind === 'local' && v.mapping.pool === pool && v.mapping.lv === lv,
  )?.name;
}

/** A folder or a device belongs to one pool only. */
function assertNotShared(data: InventoryData, record: PoolRecord): void {
  for (const other of data.pools) {
    if (record.kind === 'dir' && other.kind === 'dir' && other.path === record.path) {
      throw new FerryError('ERR_ALREADY_EXISTS', `folder ${record.path} is already pool ${other.name}`);
    }
    if (record.kind === 'device' && other.kind === 'device') {
      const shared = record.devices.filter((d) => other.devices.includes(d));
      if (shared.length > 0) {
        throw new FerryError(
          'ERR_ALREADY_EXISTS',
          `device ${shared[0]} already belongs to pool ${other.name}`,
        );
      }
    }
  }
}

/** Every device of the existing device pools, with its pool (the safety gate refuses overlaps). */
function devicesOfPools(data: InventoryData): Array<{ device: string; pool: string }> {
  return data.pools.flatMap((p) =>
    p.kind === 'device' ? p.devices.map((device) => ({ device, pool: p.name })) : [],
  );
}
