// The last known inventory (appliances, pools, volumes) and its changes as the core reports them.
// Arrays are $state.raw: 10,000 volumes are replaced, never deeply proxied, so a change re-renders only
// the rows whose object changed. Move progress does not live here (see moves/).

import type {
  Appliance,
  ApplianceStatusEvent,
  InventoryChanged,
  Pool,
  PoolRef,
  Volume,
} from '../../../shared/bridge/index.js';
import type { Backend } from '../backend/backend.js';
import { type ExplainedError, explainError } from '../ui/explain-error.js';

export function poolKey(ref: PoolRef | Pool): string {
  return 'pool' in ref ? `${ref.appliance}/${ref.pool}` : `${ref.appliance}/${ref.name}`;
}

export function poolFree(pool: Pool): number {
  return Math.max(0, pool.capacity - pool.used - pool.reserved);
}

function upsert<T>(list: T[], changes: T[], keyOf: (item: T) => string, removed: Set<string>): T[] {
  if (changes.length === 0 && removed.size === 0) return list;
  const byKey = new Map(changes.map((item) => [keyOf(item), item]));
  const next: T[] = [];
  for (const item of list) {
    const key = keyOf(item);
    if (removed.has(key)) continue;
    const changed = byKey.get(key);
    if (changed) byKey.delete(key);
    next.push(changed ?? item);
  }
  next.push(...byKey.values());
  return next;
}

export class InventoryService {
  appliances = $state.raw<Appliance[]>([]);
  pools = $state.raw<Pool[]>([]);
  volumes = $state.raw<Volume[]>([]);
  asOf = $state<string | null>(null);
  loaded = $state(false);
  refreshing = $state(false);
  error = $state<ExplainedError | null>(null);

  poolsByAppliance = $derived.by(() => {
    const map = new Map<string, Pool[]>();
    for (const pool of this.pools) {
      const list = map.get(pool.appliance) ?? [];
      list.push(pool);
      map.set(pool.appliance, list);
    }
    return map;
  });

  volumesByPool = $derived.by(() => {
    const counts = new Map<string, number>();
    for (const v of this.volumes) {
      const key = `${v.appliance}/${v.pool}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  });

  constructor(private readonly backend: Backend) {}

  async load(): Promise<void> {
    try {
      const inventory = await this.backend.call('inventory.get');
      this.appliances = inventory.appliances;
      this.pools = inventory.pools;
      this.volumes = inventory.volumes;
      this.asOf = inventory.asOf;
      this.error = null;
    } catch (err) {
      this.error = explainError(err);
    } finally {
      this.loaded = true;
    }
  }

  async refresh(appliance?: string): Promise<void> {
    this.refreshing = true;
    try {
      const inventory = await this.backend.call('inventory.refresh', appliance ? { appliance } : {});
      this.appliances = inventory.appliances;
      this.pools = inventory.pools;
      this.volumes = inventory.volumes;
      this.asOf = inventory.asOf;
      this.error = null;
    } catch (err) {
      this.error = explainError(err);
    } finally {
      this.refreshing = false;
    }
  }

  apply(change: InventoryChanged): void {
    if (change.full) {
      this.appliances = change.appliances;
      this.pools = change.pools;
      this.volumes = change.volumes;
    } else {
      const gone = change.removed;
      this.appliances = upsert(this.appliances, change.appliances, (a) => a.name, new Set(gone.appliances));
      this.pools = upsert(this.pools, change.pools, poolKey, new Set(gone.pools.map(poolKey)));
      this.volumes = upsert(this.volumes, change.volumes, (v) => v.name, new Set(gone.volumes));
    }
    if (change.asOf) this.asOf = change.asOf;
  }

  applyStatus(status: ApplianceStatusEvent): void {
    this.appliances = this.appliances.map((a) =>
      a.name === status.appliance
        ? {
            ...a,
            status: status.status,
            message: status.message,
            lastSeen: status.lastSeen ?? a.lastSeen,
            latencyMs: status.latencyMs,
          }
        : a,
    );
  }

  pool(ref: PoolRef): Pool | undefined {
    return this.pools.find((p) => p.appliance === ref.appliance && p.name === ref.pool);
  }

  volume(name: string): Volume | undefined {
    return this.volumes.find((v) => v.name === name);
  }
}
