// A move's preflight, run before anything changes and shown by the move dialog: the volume is known
// and not already moving, both appliances answer, the target pool exists and has room, the target
// LV name is free, and an estimate from the throughput measured on this link (or a guess).
import type { Preflight } from '../../../shared/bridge/model.js';
import { FerryError } from '../../../shared/errors.js';
import { formatSizeApprox } from '../../../shared/names.js';
import { lvList } from '../../../shared/rpc/lvs.js';
import { poolList } from '../../../shared/rpc/pools.js';
import { TERMINAL_MOVE_PHASES } from '../store/repo-moves.js';
import type { Store } from '../store/store.js';
import type { ApplianceLinks } from './appliance-links.js';

/** Used when no move on this link was ever measured; the estimate then says it is a guess. */
export const GUESSED_RATE_BPS = 100 * 1024 * 1024;

export interface MoveRequest {
  volume: string;
  to: { appliance: string; pool: string };
  thin?: boolean;
}

export interface PreflightOutcome extends Preflight {
  /** The LV name the move will create on the target. */
  targetLv: string;
}

/** The vv's name when free in the target pool, else NAME-2, NAME-3, ... */
export function chooseLvName(volume: string, taken: Set<string>): string {
  if (!taken.has(volume)) return volume;
  for (let i = 2; ; i++) {
    const name = `${volume.slice(0, 60)}-${i}`;
    if (!taken.has(name)) return name;
  }
}

function allocatedBytesOf(
  store: Store,
  mapping: { appliance: string; pool: string; lv: string },
): number | null {
  const owner = store.appliances.get(mapping.appliance);
  const pool = owner ? store.inventory.pool(owner.id, mapping.pool) : undefined;
  const lv = pool ? store.inventory.lvs(pool.id).find((l) => l.name === mapping.lv) : undefined;
  return lv?.allocatedBytes ?? null;
}

export async function preflightMove(
  store: Store,
  links: ApplianceLinks,
  req: MoveRequest,
): Promise<PreflightOutcome> {
  const checks: Preflight['checks'] = [];
  const check = (id: string, ok: boolean, message: string) => checks.push({ id, ok, message });
  const volume = store.volumes.get(req.volume);
  if (!volume) {
    throw new FerryError(
      'ERR_NOT_FOUND',
      `no volume named ${req.volume}: run ferry inventory --refresh to see the volumes`,
    );
  }
  const target = store.appliances.get(req.to.appliance);
  if (!target) throw new FerryError('ERR_NOT_FOUND', `no appliance named ${req.to.appliance}`);
  const front =
    volume.frontApplianceId === null ? undefined : store.appliances.getById(volume.frontApplianceId);

  const busy = store.moves.list({ vvUuid: volume.uuid }).find((m) => !TERMINAL_MOVE_PHASES.includes(m.phase));
  check(
    'busy',
    !busy,
    busy
      ? `${volume.name} is already moving (move ${busy.id}): wait for it or abort it`
      : `${volume.name} is not moving`,
  );
  const samePlace = volume.mapping.appliance === req.to.appliance && volume.mapping.pool === req.to.pool;
  check(
    'same-pool',
    !samePlace,
    samePlace
      ? `${volume.name} is already on ${req.to.appliance}/${req.to.pool}`
      : 'target differs from the source',
  );

  if (front) {
    try {
      await links.get(front.name);
      check('reachable-front', true, `${front.name} (serving ${volume.name}) answers`);
    } catch (err) {
      check(
        'reachable-front',
        false,
        `${front.name}, which serves ${volume.name}, does not answer: ${(err as Error).message}`,
      );
    }
  } else {
    check('reachable-front', false, `no appliance is known to serve ${volume.name}: refresh the inventory`);
  }

  let free = 0;
  let targetLv = volume.name;
  // A thin move reserves what the volume holds now (its LV's allocated bytes), a thick one its size.
  const allocated = req.thin ? allocatedBytesOf(store, volume.mapping) : null;
  const reserveBytes = allocated ?? volume.sizeBytes;
  try {
    const link = await links.get(target.name);
    check('reachable-target', true, `${target.name} answers`);
    const { pools } = await link.call(poolList, {});
    const pool = pools.find((p) => p.name === req.to.pool);
    if (!pool) {
      check(
        'pool',
        false,
        `${target.name} has no pool ${req.to.pool} (it has: ${pools.map((p) => p.name).join(', ') || 'none'})`,
      );
    } else {
      free = pool.free;
      const fits = pool.free >= reserveBytes;
      check(
        'space',
        fits,
        fits
          ? `${req.to.appliance}/${req.to.pool} has ${formatSizeApprox(pool.free)} free for ${formatSizeApprox(reserveBytes)}`
          : `${req.to.appliance}/${req.to.pool} lacks ${formatSizeApprox(reserveBytes - pool.free)} (${formatSizeApprox(pool.free)} free, ${formatSizeApprox(reserveBytes)} needed): free space there or choose another pool`,
      );
      const { lvs } = await link.call(lvList, { pool: req.to.pool });
      targetLv = chooseLvName(volume.name, new Set(lvs.map((l) => l.name)));
      check('name', true, `the target LV will be ${req.to.pool}/${targetLv}`);
    }
  } catch (err) {
    check('reachable-target', false, `${target.name} does not answer: ${(err as Error).message}`);
  }

  const source = store.appliances.get(volume.mapping.appliance);
  const measured = source ? store.throughput.estimate(source.id, target.id) : undefined;
  const rate = measured ?? GUESSED_RATE_BPS;
  return {
    ok: checks.every((c) => c.ok),
    checks,
    estimate: { seconds: volume.sizeBytes / rate, basis: measured ? 'measured' : 'guess', rateBps: rate },
    reserveBytes,
    targetFreeBefore: free,
    targetFreeAfter: free - reserveBytes,
    targetLv,
  };
}
