// Reads what each agent serves and records it in the store: pools with their LVs, and vvs with their
// mapping and epoch. Reconciliation: the agent's applied mapping wins when its epoch is higher; the
// drift is recorded (mapping history 'agent-drift' and the audit log) and returned so shells can show it.
import { toFerryError } from '../../../shared/errors.js';
import type { Mapping } from '../../../shared/rpc/common.js';
import { agentInfo } from '../../../shared/rpc/info.js';
import { lvList } from '../../../shared/rpc/lvs.js';
import type { Appliance } from '../store/repo-appliances.js';
import type { ObserveOutcome, VolumeMapping } from '../store/repo-volumes.js';
import type { Store } from '../store/store.js';
import type { ApplianceLinks } from './appliance-links.js';

export interface SyncResult {
  appliance: string;
  ok: boolean;
  error?: string;
  drift: Array<{ volume: string; outcome: ObserveOutcome['kind']; detail: string }>;
}

/** Peer agents export an LV under the name POOL/LV ('/' cannot occur in either name). */
export function lvExportName(pool: string, lv: string): string {
  return `${pool}/${lv}`;
}

/** Where a vv's data lives, in the console's terms (appliance/pool/LV). */
export function resolveMapping(store: Store, front: Appliance, mapping: Mapping): VolumeMapping {
  if (mapping.kind === 'local') return { appliance: front.name, pool: mapping.pool, lv: mapping.lv };
  const m = /^nbds:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/([^/]+)\/([^/]+)$/.exec(mapping.url);
  if (m) {
    const listen = `${m[1]}:${m[2]}`;
    const owner = store.appliances.list().find((a) => a.nbdListen === listen);
    if (owner) return { appliance: owner.name, pool: m[3], lv: m[4] };
  }
  // A link the console did not make: keep the URL visible rather than guess.
  return { appliance: front.name, pool: 'remote', lv: mapping.url };
}

export async function syncAppliance(store: Store, links: ApplianceLinks, name: string): Promise<SyncResult> {
  const appliance = store.appliances.require(name);
  const result: SyncResult = { appliance: name, ok: true, drift: [] };
  try {
    const link = await links.get(name);
    const info = await link.call(agentInfo, {});
    const { lvs } = await link.call(lvList, {});
    store.inventory.replaceAppliance(
      appliance.id,
      info.pools.map((p) => ({
        name: p.name,
        kind: p.kind,
        config: p.kind === 'dir' ? { path: p.path } : { devices: p.devices },
        capacityBytes: p.size,
        freeBytes: p.free,
        lvs: lvs
          .filter((lv) => lv.pool === p.name)
          .map((lv) => ({ name: lv.name, sizeBytes: lv.size, allocatedBytes: lv.allocated })),
      })),
    );
    for (const vv of info.volumes) {
      const outcome = store.volumes.observe({
        uuid: vv.uuid,
        name: vv.name,
        sizeBytes: vv.size,
        frontApplianceId: appliance.id,
        mapping: resolveMapping(store, appliance, vv.mapping),
        epoch: vv.epoch,
      });
      if (outcome.kind === 'drift') {
        result.drift.push({
          volume: vv.name,
          outcome: outcome.kind,
          detail: `epoch ${outcome.previous.epoch} -> ${outcome.volume.epoch}: the agent's mapping is newer and was adopted`,
        });
      } else if (outcome.kind === 'conflict' || outcome.kind === 'store-ahead') {
        result.drift.push({
          volume: vv.name,
          outcome: outcome.kind,
          detail:
            outcome.kind === 'conflict'
              ? 'the agent and the store disagree at the same epoch: check the volume before moving it'
              : `the store knows epoch ${outcome.volume.epoch}, the agent reports ${outcome.reportedEpoch}`,
        });
      }
    }
    // A vv this appliance fronted that it no longer reports was deleted there.
    for (const known of store.volumes.list()) {
      if (known.frontApplianceId === appliance.id && !info.volumes.some((v) => v.uuid === known.uuid)) {
        store.volumes.remove(known.uuid);
      }
    }
  } catch (err) {
    result.ok = false;
    result.error = toFerryError(err).message;
  }
  return result;
}
