// After a cutover the console core releases the source LV in the background and refreshes the
// inventory later; the next move's preflight asks the agents. Before the runner counts the source's
// space as free, it waits here until the source appliance reports the old LV gone (or a timeout).
import type { Store } from '../store/store.js';
import type { PoolRef } from './capacity-ledger.js';

export interface SourceLv extends PoolRef {
  lv: string;
}

export interface SettleOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/** Resolves true once the inventory no longer shows `source` (and the target was read again). */
export type Settle = (target: PoolRef, source: SourceLv) => Promise<boolean>;

export function inventorySettler(
  store: Store,
  refresh: (appliance: string) => Promise<unknown>,
  options: SettleOptions = {},
): Settle {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 500;
  return async (target, source) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await refresh(source.appliance).catch(() => {});
      if (target.appliance !== source.appliance) await refresh(target.appliance).catch(() => {});
      if (!lvPresent(store, source)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
}

function lvPresent(store: Store, source: SourceLv): boolean {
  const appliance = store.appliances.get(source.appliance);
  const pool = appliance ? store.inventory.pool(appliance.id, source.pool) : undefined;
  return pool ? store.inventory.lvs(pool.id).some((lv) => lv.name === source.lv) : false;
}
