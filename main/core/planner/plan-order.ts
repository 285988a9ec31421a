// The offline planner's pure core: given pools (capacity, used), volumes (where they are, size,
// allocated) and the steps of a plan, finds the order the moves can run in, proposes staging when no
// direct order exists, flags what cannot run and why, and gives each pool's used space before and
// after every step when N moves run at once. No I/O: the plan service feeds it from the store.
import type { PoolUsage } from '../../../shared/bridge/model.js';
import { FerryError } from '../../../shared/errors.js';
import { formatSizeApprox } from '../../../shared/names.js';
import {
  CapacityLedger,
  type Hop,
  type PoolRef,
  type PoolSpace,
  poolKey,
  samePool,
} from './capacity-ledger.js';
import { DEFAULT_LIMITS, type SearchLimits, type StagingNote, searchOrder } from './plan-search.js';
import { simulateRun } from './plan-simulation.js';

export type { Hop, PoolRef, PoolSpace } from './capacity-ledger.js';
export type { StagingNote } from './plan-search.js';

export interface VolumePlace {
  name: string;
  size: number;
  /** Bytes allocated in its LV; null when the pool cannot say. */
  allocated: number | null;
  appliance: string;
  pool: string;
  /** Bytes it takes in its pool's `used` (given back at cutover); default: its size. */
  held?: number;
  /** A move of this volume is in progress outside the plan. */
  moving?: boolean;
}

export interface StepRequest {
  id: string;
  volume: string;
  to: PoolRef;
  /** Reserve the allocated bytes on the target instead of the full size. */
  thin: boolean;
  /** A run already finished this step: it takes no part in the order. */
  done?: boolean;
}

export interface OrderInput {
  pools: PoolSpace[];
  volumes: VolumePlace[];
  steps: StepRequest[];
  /** Moves at once (default 1). */
  concurrency?: number;
  /** Seconds a hop takes, for the simulation of overlapping moves (default: its bytes at 100 MB/s). */
  durationOf?: (hop: Hop) => number;
  limits?: SearchLimits;
}

/** 'run': scheduled; 'done': finished by an earlier run; 'already-there': nothing to move. */
export type HopOutcome = 'run' | 'done' | 'already-there' | 'infeasible';

export interface OrderedHop extends Hop {
  /** 1-based: finished steps first, then the run order, then what cannot run. */
  order: number;
  outcome: HopOutcome;
  feasible: boolean;
  reason: string | null;
  capacity: PoolUsage[];
  /** Seconds from the start of the run, in the simulation; null when it does not run. */
  startAt: number | null;
  endAt: number | null;
  /** Hops still running when this one starts (with concurrency above 1). */
  runsWith: string[];
}

export interface OrderResult {
  hops: OrderedHop[];
  /** Every pool the plan touches: used space before the first move and after the last. */
  pools: PoolUsage[];
  warnings: string[];
  staging: StagingNote[];
  feasible: boolean;
  /** Why the plan cannot run as a whole, when it cannot. */
  reason: string | null;
  /** Simulated duration of the whole run with the given concurrency. */
  seconds: number;
  concurrency: number;
}

export const DEFAULT_RATE_BPS = 100_000_000;
const size = formatSizeApprox;

export function planOrder(input: OrderInput): OrderResult {
  const concurrency = input.concurrency ?? 1;
  validate(input, concurrency);
  const warnings: string[] = [];
  const volumes = new Map(input.volumes.map((v) => [v.name, v]));
  const ledger = CapacityLedger.of(input.pools);
  const settled: OrderedHop[] = [];
  const rejected: { hop: Hop; reason: string }[] = [];
  const pending: Hop[] = [];

  for (const step of input.steps) {
    const volume = volumes.get(step.volume);
    const hop = volume ? hopOf(step, volume) : unknownHop(step);
    if (!volume) {
      rejected.push({
        hop,
        reason: `volume ${step.volume} is not in the inventory: refresh it (ferry inventory --refresh) or remove step ${step.id}`,
      });
    } else if (step.done) {
      settled.push(settledHop(hop, 'done'));
      if (!samePool(hop.from, hop.to))
        warnings.push(`step ${step.id} ran before, but ${step.volume} is now on ${poolKey(hop.from)}`);
    } else if (samePool(hop.from, hop.to)) {
      settled.push(settledHop(hop, 'already-there'));
      warnings.push(`step ${step.id}: ${step.volume} is already on ${poolKey(step.to)}; skipped`);
    } else if (!ledger.has(step.to)) {
      rejected.push({
        hop,
        reason: `pool ${poolKey(step.to)} is not in the inventory: check the name (ferry inventory) or remove step ${step.id}`,
      });
    } else {
      if (step.thin && volume.allocated === null)
        warnings.push(
          `step ${step.id}: the allocated bytes of ${step.volume} are unknown, so it reserves its full size (${size(volume.size)})`,
        );
      if (!ledger.has(hop.from))
        warnings.push(
          `step ${step.id}: pool ${poolKey(hop.from)} of ${step.volume} is not in the inventory; the space it frees is not counted`,
        );
      if (volume.moving)
        warnings.push(
          `step ${step.id}: ${step.volume} is being moved right now; the plan assumes it stays on ${poolKey(hop.from)}`,
        );
      pending.push(hop);
    }
  }

  const poolRefs = input.pools.map((p) => ({ appliance: p.appliance, pool: p.pool }));
  const search = searchOrder(ledger, pending, poolRefs, input.limits ?? DEFAULT_LIMITS);
  if (search.exhausted)
    warnings.push(
      'the order search stopped at its limit of tries: a better order may exist for a plan this large',
    );
  for (const note of search.staging)
    warnings.push(
      `no direct order fits: ${note.volume} is staged through ${poolKey(note.via)} (${note.reason})`,
    );

  const durationOf =
    input.durationOf ?? ((hop: Hop) => (hop.allocatedBytes ?? hop.sizeBytes) / DEFAULT_RATE_BPS);
  const run = simulateRun(input.pools, search.order, concurrency, durationOf);
  const scheduled: OrderedHop[] = search.order.map((hop) => {
    const timing = run.timings.get(hop.id);
    return {
      ...hop,
      order: 0,
      outcome: timing ? 'run' : 'infeasible',
      feasible: timing !== undefined,
      reason: timing ? null : 'the order search produced a step that does not fit (a planner bug): report it',
      capacity: timing?.capacity ?? [],
      startAt: timing?.startAt ?? null,
      endAt: timing?.endAt ?? null,
      runsWith: timing?.runsWith ?? [],
    };
  });
  const stuck = [...rejected, ...search.infeasible].map(({ hop, reason }) =>
    infeasibleHop(hop, reason, run.after),
  );
  const hops = [...settled, ...scheduled, ...stuck].map((hop, i) => ({ ...hop, order: i + 1 }));

  const feasible = hops.every((h) => h.feasible);
  const firstStuck = hops.find((h) => !h.feasible);
  const reason = firstStuck
    ? `${hops.filter((h) => !h.feasible).length} of ${hops.length} steps cannot run: step ${firstStuck.stepId}: ${firstStuck.reason}`
    : null;
  return {
    hops,
    pools: touchedPools(input.pools, hops, run.after),
    warnings,
    staging: search.staging,
    feasible,
    reason,
    seconds: run.seconds,
    concurrency,
  };
}

function hopOf(step: StepRequest, volume: VolumePlace): Hop {
  const reserve = step.thin ? (volume.allocated ?? volume.size) : volume.size;
  return {
    id: step.id,
    stepId: step.id,
    volume: step.volume,
    from: { appliance: volume.appliance, pool: volume.pool },
    to: { appliance: step.to.appliance, pool: step.to.pool },
    thin: step.thin,
    sizeBytes: volume.size,
    allocatedBytes: volume.allocated,
    reserveBytes: reserve,
    heldBytes: volume.held ?? volume.size,
    staging: false,
  };
}

function unknownHop(step: StepRequest): Hop {
  return {
    id: step.id,
    stepId: step.id,
    volume: step.volume,
    from: { appliance: step.to.appliance, pool: step.to.pool },
    to: { appliance: step.to.appliance, pool: step.to.pool },
    thin: step.thin,
    sizeBytes: 0,
    allocatedBytes: null,
    reserveBytes: 0,
    heldBytes: 0,
    staging: false,
  };
}

function settledHop(hop: Hop, outcome: 'done' | 'already-there'): OrderedHop {
  return {
    ...hop,
    order: 0,
    outcome,
    feasible: true,
    reason: null,
    capacity: [],
    startAt: null,
    endAt: null,
    runsWith: [],
  };
}

function infeasibleHop(hop: Hop, reason: string, after: CapacityLedger): OrderedHop {
  const capacity: PoolUsage[] = after.has(hop.to)
    ? [
        {
          appliance: hop.to.appliance,
          pool: hop.to.pool,
          capacity: after.capacityOf(hop.to),
          usedBefore: after.usedOf(hop.to),
          usedAfter: after.usedOf(hop.to),
        },
      ]
    : [];
  return {
    ...hop,
    order: 0,
    outcome: 'infeasible',
    feasible: false,
    reason,
    capacity,
    startAt: null,
    endAt: null,
    runsWith: [],
  };
}

function touchedPools(
  pools: readonly PoolSpace[],
  hops: readonly OrderedHop[],
  after: CapacityLedger,
): PoolUsage[] {
  const touched = new Set(
    hops.filter((h) => h.outcome !== 'already-there').flatMap((h) => [poolKey(h.from), poolKey(h.to)]),
  );
  return pools
    .filter((p) => touched.has(poolKey(p)))
    .map((p) => ({
      appliance: p.appliance,
      pool: p.pool,
      capacity: p.capacity,
      usedBefore: p.used,
      usedAfter: after.usedOf(p),
    }));
}

function validate(input: OrderInput, concurrency: number): void {
  const bad = (message: string) => new FerryError('ERR_INVALID_ARGUMENT', message);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw bad(`concurrency must be a whole number from 1 to 64, not ${concurrency}`);
  const bytes = (what: string, n: number | null | undefined) => {
    if (n === null || n === undefined) return;
    if (!Number.isSafeInteger(n) || n < 0)
      throw bad(`${what} must be a whole number of bytes >= 0, not ${n}`);
  };
  const pools = new Set<string>();
  for (const p of input.pools) {
    bytes(`capacity of pool ${poolKey(p)}`, p.capacity);
    bytes(`used space of pool ${poolKey(p)}`, p.used);
    if (pools.has(poolKey(p))) throw bad(`pool ${poolKey(p)} is listed twice`);
    pools.add(poolKey(p));
  }
  for (const v of input.volumes) {
    bytes(`size of volume ${v.name}`, v.size);
    bytes(`allocated bytes of volume ${v.name}`, v.allocated);
    bytes(`bytes held by volume ${v.name}`, v.held);
  }
  const ids = new Set<string>();
  const byVolume = new Map<string, string>();
  for (const s of input.steps) {
    if (s.id === '' || ids.has(s.id))
      throw bad(`step ids must be unique and non-empty: ${JSON.stringify(s.id)}`);
    ids.add(s.id);
    const other = byVolume.get(s.volume);
    if (other !== undefined)
      throw bad(
        `volume ${s.volume} has two steps (${other} and ${s.id}): a plan moves a volume once; remove one`,
      );
    byVolume.set(s.volume, s.id);
  }
}
