// The store as the renderer and the CLI see it (shared/bridge/model.ts): appliances with their status,
// pools with used/reserved/free, vvs with where their data lives and whether they are moving. Pure
// reads, so they work with every appliance offline.
import type {
  Appliance as ApplianceView,
  Inventory,
  Pool as PoolView,
  Volume as VolumeView,
} from '../../../shared/bridge/model.js';
import type { Appliance } from '../store/repo-appliances.js';
import { TERMINAL_MOVE_PHASES } from '../store/repo-moves.js';
import type { Store } from '../store/store.js';

export function applianceView(a: Appliance, latencyMs: number | null): ApplianceView {
  return {
    name: a.name,
    host: a.host,
    port: a.port,
    user: a.user,
    status: a.status === 'online' ? 'online' : a.status === 'error' ? 'error' : 'offline',
    message: a.statusDetail,
    lastSeen: a.lastSeen,
    agentVersion: a.agentVersion,
    latencyMs,
    hostKey: a.hostKey?.fingerprint ?? null,
    lab: a.transport === 'local',
  };
}

function activeMoves(store: Store) {
  return store.moves.list({ active: true }).filter((m) => !TERMINAL_MOVE_PHASES.includes(m.phase));
}

export function poolViews(store: Store): PoolView[] {
  const appliances = new Map(store.appliances.list().map((a) => [a.id, a]));
  const moving = activeMoves(store);
  return store.inventory.pools().map((p) => {
    const appliance = appliances.get(p.applianceId)!;
    const used = store.inventory.lvs(p.id).reduce((sum, lv) => sum + lv.sizeBytes, 0);
    const capacity = p.capacityBytes ?? used + (p.freeBytes ?? 0);
    // A move's target LV exists from the start, so it is already in `used`; reserved counts moves whose
    // target LV has not been seen yet.
    const reserved = moving
      .filter((m) => m.to.appliance === appliance.name && m.to.pool === p.name)
      .filter((m) => !store.inventory.lvs(p.id).some((lv) => lv.name === m.to.lv))
      .reduce((sum, m) => sum + (store.volumes.get(m.vvUuid)?.sizeBytes ?? 0), 0);
    return {
      appliance: appliance.name,
      name: p.name,
      kind: p.kind === 'device' ? 'device' : 'dir',
      capacity: Math.max(capacity, 0),
      used,
      reserved,
      lastSeen: p.seenAt,
    };
  });
}

export function volumeViews(store: Store): VolumeView[] {
  const moving = activeMoves(store);
  const pools = store.inventory.pools();
  const appliances = new Map(store.appliances.list().map((a) => [a.name, a]));
  return store.volumes.list().map((v) => {
    const move = moving.find((m) => m.vvUuid === v.uuid);
    const owner = appliances.get(v.mapping.appliance);
    const pool = owner
      ? pools.find((p) => p.applianceId === owner.id && p.name === v.mapping.pool)
      : undefined;
    const lv = pool ? store.inventory.lvs(pool.id).find((l) => l.name === v.mapping.lv) : undefined;
    return {
      name: v.name,
      uuid: v.uuid,
      size: v.sizeBytes,
      allocated: lv?.allocatedBytes ?? null,
      appliance: v.mapping.appliance,
      pool: v.mapping.pool,
      lv: v.mapping.lv,
      epoch: v.epoch,
      state: move ? (move.phase === 'degraded' ? 'degraded' : 'moving') : 'ready',
      moveId: move?.id ?? null,
      lastSeen: v.seenAt,
    };
  });
}

export function inventoryView(store: Store, latencyOf: (name: string) => number | null): Inventory {
  const appliances = store.appliances.list();
  const pools = poolViews(store);
  const volumes = volumeViews(store);
  const seen = [...pools.map((p) => p.lastSeen), ...volumes.map((v) => v.lastSeen)].filter(
    (t): t is string => t !== null,
  );
  return {
    appliances: appliances.map((a) => applianceView(a, latencyOf(a.name))),
    pools,
    volumes,
    asOf: seen.length > 0 ? [...seen].sort()[0] : null,
  };
}
