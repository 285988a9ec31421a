// A real store file for the planner's tests: three local appliances with one 10G dir pool each, filled
// through the repositories, and a helper that applies a finished move to the inventory as a refresh would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../main/core/store/index.js';

export const G = 1024 ** 3;
export const APPLIANCES = ['lab-1', 'lab-2', 'lab-3'] as const;
const SEEN_AT = '2026-11-25T10:00:00.000Z';

export interface Fixture {
  dir: string;
  store: Store;
  ids: Map<string, number>;
  close(): void;
}

export const to = (appliance: string) => ({ appliance, pool: 'pool' });

export function uuidOf(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

/** Volumes as [name, appliance, sizeG, allocatedG]; `used` adds other LVs (in G) per appliance. */
export function openFixture(
  volumes: [string, string, number, number | null][],
  used: Record<string, number> = {},
): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-plan-'));
  const store = openStore({ path: join(dir, 'ferry.db'), actor: 'tester' });
  const ids = new Map<string, number>();
  for (const name of APPLIANCES) {
    const a = store.appliances.add({
      name,
      host: '127.0.0.1',
      transport: 'local',
      agentDir: `/tmp/${name}`,
      nbdListen: '127.0.0.1:10809',
    });
    ids.set(name, a.id);
  }
  for (const name of APPLIANCES) {
    const lvs = volumes
      .filter((v) => v[1] === name)
      .map(([vol, , sizeG, allocG]) => ({
        name: `lv-${vol}`,
        sizeBytes: sizeG * G,
        allocatedBytes: allocG === null ? null : allocG * G,
      }));
    if ((used[name] ?? 0) > 0) lvs.push({ name: 'other', sizeBytes: used[name] * G, allocatedBytes: null });
    store.inventory.replaceAppliance(
      ids.get(name)!,
      [{ name: 'pool', kind: 'dir', capacityBytes: 10 * G, freeBytes: null, lvs }],
      SEEN_AT,
    );
  }
  volumes.forEach(([vol, at, sizeG], i) => {
    store.volumes.create({
      uuid: uuidOf(i + 1),
      name: vol,
      sizeBytes: sizeG * G,
      frontApplianceId: ids.get(at)!,
      mapping: { appliance: at, pool: 'pool', lv: `lv-${vol}` },
      epoch: 1,
    });
  });
  return {
    dir,
    store,
    ids,
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What the inventory shows after a move's cutover: the LV on the target pool, the mapping switched. */
export function applyMove(f: Fixture, volume: string, target: string): void {
  const { store, ids } = f;
  const vv = store.volumes.require(volume);
  const from = vv.mapping.appliance;
  const lvName = vv.mapping.lv;
  const sourcePool = store.inventory.pool(ids.get(from)!, 'pool')!;
  const lv = store.inventory.lvs(sourcePool.id).find((l) => l.name === lvName)!;
  type Lv = { name: string; sizeBytes: number; allocatedBytes: number | null };
  const rewrite = (appliance: string, change: (lvs: Lv[]) => Lv[]) => {
    const pool = store.inventory.pool(ids.get(appliance)!, 'pool')!;
    const lvs = store.inventory
      .lvs(pool.id)
      .map((l) => ({ name: l.name, sizeBytes: l.sizeBytes, allocatedBytes: l.allocatedBytes }));
    store.inventory.upsertPool(ids.get(appliance)!, {
      name: 'pool',
      kind: 'dir',
      capacityBytes: pool.capacityBytes,
      lvs: change(lvs),
    });
  };
  rewrite(from, (lvs) => lvs.filter((l) => l.name !== lvName));
  rewrite(target, (lvs) => [
    ...lvs,
    { name: lvName, sizeBytes: lv.sizeBytes, allocatedBytes: lv.allocatedBytes },
  ]);
  store.volumes.commitMapping(volume, vv.epoch, vv.epoch + 1, {
    appliance: target,
    pool: 'pool',
    lv: lvName,
  });
}

export function setOnline(f: Fixture): void {
  for (const name of APPLIANCES) f.store.appliances.setStatus(name, 'online');
}
