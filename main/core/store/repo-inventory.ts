// Pools and LVs as last seen on each appliance, with the time they were seen, so the planner and
// `ferry inventory` work offline. A refresh replaces an appliance's snapshot; rows that appear or
// vanish are audited, a row that is merely seen again only moves its seen_at.
import { FerryError } from '../../../shared/errors.js';
import { parseJsonColumn, type StoreContext, stmt } from './store-context.js';

export interface LvSnapshot {
  name: string;
  sizeBytes: number;
  allocatedBytes?: number | null;
}

export interface PoolSnapshot {
  name: string;
  /** 'dir' | 'device' today; free text so new pool kinds need no migration. */
  kind: string;
  config?: Record<string, unknown>;
  capacityBytes?: number | null;
  freeBytes?: number | null;
  lvs?: LvSnapshot[];
}

export interface Pool {
  id: number;
  applianceId: number;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  capacityBytes: number | null;
  freeBytes: number | null;
  seenAt: string;
}

export interface Lv {
  id: number;
  poolId: number;
  name: string;
  sizeBytes: number;
  allocatedBytes: number | null;
  seenAt: string;
}

interface PoolRow {
  id: number;
  appliance_id: number;
  name: string;
  kind: string;
  config_json: string;
  capacity_bytes: number | null;
  free_bytes: number | null;
  seen_at: string;
}

interface LvRow {
  id: number;
  pool_id: number;
  name: string;
  size_bytes: number;
  allocated_bytes: number | null;
  seen_at: string;
}

const toPool = (row: PoolRow): Pool => ({
  id: row.id,
  applianceId: row.appliance_id,
  name: row.name,
  kind: row.kind,
  config: parseJsonColumn<Record<string, unknown>>(row.config_json, {}),
  capacityBytes: row.capacity_bytes,
  freeBytes: row.free_bytes,
  seenAt: row.seen_at,
});

const toLv = (row: LvRow): Lv => ({
  id: row.id,
  poolId: row.pool_id,
  name: row.name,
  sizeBytes: row.size_bytes,
  allocatedBytes: row.allocated_bytes,
  seenAt: row.seen_at,
});

function checkBytes(what: string, value: number | null | undefined): void {
  if (value === null || value === undefined) return;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `${what} must be a non-negative integer of bytes, got ${value}`,
    );
  }
}

export interface InventoryChange {
  added: string[];
  removed: string[];
}

export class InventoryRepo {
  constructor(private readonly ctx: StoreContext) {}

  pools(applianceId?: number): Pool[] {
    const rows = (
      applianceId === undefined
        ? stmt(this.ctx.db, 'SELECT * FROM pools ORDER BY appliance_id, name').all()
        : stmt(this.ctx.db, 'SELECT * FROM pools WHERE appliance_id = ? ORDER BY name').all(applianceId)
    ) as PoolRow[];
    return rows.map(toPool);
  }

  pool(applianceId: number, name: string): Pool | undefined {
    const row = stmt(this.ctx.db, 'SELECT * FROM pools WHERE appliance_id = ? AND name = ?').get(
      applianceId,
      name,
    ) as PoolRow | undefined;
    return row ? toPool(row) : undefined;
  }

  lvs(poolId?: number): Lv[] {
    const rows = (
      poolId === undefined
        ? stmt(this.ctx.db, 'SELECT * FROM lvs ORDER BY pool_id, name').all()
        : stmt(this.ctx.db, 'SELECT * FROM lvs WHERE pool_id = ? ORDER BY name').all(poolId)
    ) as LvRow[];
    return rows.map(toLv);
  }

  /** Inserts or refreshes one pool (and its LVs when the snapshot lists them). */
  upsertPool(applianceId: number, snapshot: PoolSnapshot, seenAt: string = this.ctx.now()): Pool {
    checkBytes('pool capacity', snapshot.capacityBytes);
    checkBytes('pool free space', snapshot.freeBytes);
    return this.ctx.db.transaction(() => {
      const existing = this.pool(applianceId, snapshot.name);
      stmt(
        this.ctx.db,
        `INSERT INTO pools (appliance_id, name, kind, config_json, capacity_bytes, free_bytes, seen_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (appliance_id, name) DO UPDATE SET kind = excluded.kind, config_json = excluded.config_json,
           capacity_bytes = excluded.capacity_bytes, free_bytes = excluded.free_bytes, seen_at = excluded.seen_at`,
      ).run(
        applianceId,
        snapshot.name,
        snapshot.kind,
        JSON.stringify(snapshot.config ?? {}),
        snapshot.capacityBytes ?? null,
        snapshot.freeBytes ?? null,
        seenAt,
      );
      const pool = this.pool(applianceId, snapshot.name)!;
      if (!existing)
        this.ctx.audit('pool.seen', this.poolSubject(pool), { kind: pool.kind, config: pool.config });
      if (snapshot.lvs) this.replaceLvs(pool, snapshot.lvs, seenAt);
      return pool;
    })();
  }

  removePool(applianceId: number, name: string): void {
    this.ctx.db.transaction(() => {
      const pool = this.pool(applianceId, name);
      if (!pool) throw new FerryError('ERR_NOT_FOUND', `no pool ${JSON.stringify(name)} on that appliance`);
      stmt(this.ctx.db, 'DELETE FROM pools WHERE id = ?').run(pool.id);
      this.ctx.audit('pool.remove', this.poolSubject(pool), {});
    })();
  }

  /**
   * Replaces everything known about one appliance's pools and LVs with what it reports now.
   * Returns the subjects ('appliance/pool' or 'appliance/pool/lv') that appeared or vanished.
   */
  replaceAppliance(
    applianceId: number,
    pools: PoolSnapshot[],
    seenAt: string = this.ctx.now(),
  ): InventoryChange {
    return this.ctx.db.transaction(() => {
      const change: InventoryChange = { added: [], removed: [] };
      const before = new Map(this.pools(applianceId).map((p) => [p.name, p]));
      for (const snapshot of pools) {
        const existed = before.has(snapshot.name);
        before.delete(snapshot.name);
        const lvsBefore = existed
          ? this.lvs(this.pool(applianceId, snapshot.name)!.id).map((l) => l.name)
          : [];
        const pool = this.upsertPool(applianceId, snapshot, seenAt);
        if (!existed) change.added.push(this.poolSubject(pool));
        if (snapshot.lvs) {
          const after = new Set(snapshot.lvs.map((l) => l.name));
          for (const lv of snapshot.lvs)
            if (!lvsBefore.includes(lv.name)) change.added.push(`${this.poolSubject(pool)}/${lv.name}`);
          for (const name of lvsBefore)
            if (!after.has(name)) change.removed.push(`${this.poolSubject(pool)}/${name}`);
        }
      }
      for (const gone of before.values()) {
        stmt(this.ctx.db, 'DELETE FROM pools WHERE id = ?').run(gone.id);
        change.removed.push(this.poolSubject(gone));
        this.ctx.audit('pool.vanished', this.poolSubject(gone), {});
      }
      return change;
    })();
  }

  private replaceLvs(pool: Pool, lvs: LvSnapshot[], seenAt: string): void {
    const subject = this.poolSubject(pool);
    const before = new Set(this.lvs(pool.id).map((l) => l.name));
    for (const lv of lvs) {
      checkBytes('LV size', lv.sizeBytes);
      checkBytes('LV allocation', lv.allocatedBytes);
      stmt(
        this.ctx.db,
        `INSERT INTO lvs (pool_id, name, size_bytes, allocated_bytes, seen_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (pool_id, name) DO UPDATE SET size_bytes = excluded.size_bytes,
           allocated_bytes = excluded.allocated_bytes, seen_at = excluded.seen_at`,
      ).run(pool.id, lv.name, lv.sizeBytes, lv.allocatedBytes ?? null, seenAt);
      if (!before.has(lv.name))
        this.ctx.audit('lv.seen', `${subject}/${lv.name}`, { sizeBytes: lv.sizeBytes });
      before.delete(lv.name);
    }
    for (const name of before) {
      stmt(this.ctx.db, 'DELETE FROM lvs WHERE pool_id = ? AND name = ?').run(pool.id, name);
      this.ctx.audit('lv.vanished', `${subject}/${name}`, {});
    }
  }

  private poolSubject(pool: Pool): string {
    const row = stmt(this.ctx.db, 'SELECT name FROM appliances WHERE id = ?').get(pool.applianceId) as
      | { name: string }
      | undefined;
    return `${row?.name ?? `#${pool.applianceId}`}/${pool.name}`;
  }
}
