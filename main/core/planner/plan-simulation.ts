// Runs an ordered list of hops on paper with N moves at once, by the rule the runner applies for real:
// hops start in plan order, each only when a slot is free, no other hop of its volume is running and
// its reservation fits beside those of the moves still running. Because a hop waits (never skips
// ahead), the worst case is the one-at-a-time order the search proved safe, so any N stays safe.
import type { PoolUsage } from '../../../shared/bridge/model.js';
import { CapacityLedger, type Hop, type PoolRef, type PoolSpace, poolKey } from './capacity-ledger.js';

export type StartCheck = 'ok' | 'no-slot' | 'volume-busy' | 'no-room';

export function canStart(
  ledger: CapacityLedger,
  hop: Hop,
  running: readonly Hop[],
  concurrency: number,
): StartCheck {
  if (running.length >= concurrency) return 'no-slot';
  if (running.some((r) => r.volume === hop.volume)) return 'volume-busy';
  return ledger.fits(hop) ? 'ok' : 'no-room';
}

export interface HopTiming {
  /** Seconds from the start of the run. */
  startAt: number;
  endAt: number;
  /** Hops still running when this one starts. */
  runsWith: string[];
  /** Its source and target pools: used space when it starts, and right after its cutover. */
  capacity: PoolUsage[];
}

export interface RunSimulation {
  timings: Map<string, HopTiming>;
  /** Hops that could not start even with nothing running (an order the search did not produce). */
  blocked: string[];
  seconds: number;
  /** Highest used space each pool reaches during the run. */
  peak: Map<string, number>;
  after: CapacityLedger;
}

interface Running {
  hop: Hop;
  endAt: number;
  timing: HopTiming;
}

export function simulateRun(
  pools: readonly PoolSpace[],
  hops: readonly Hop[],
  concurrency: number,
  durationOf: (hop: Hop) => number,
): RunSimulation {
  const ledger = CapacityLedger.of(pools);
  const known = new Map(pools.map((p) => [poolKey(p), p]));
  const peak = new Map(pools.map((p) => [poolKey(p), p.used]));
  const timings = new Map<string, HopTiming>();
  const blocked: string[] = [];
  let running: Running[] = [];
  let now = 0;

  const usage = (ref: PoolRef): PoolUsage | null => {
    const pool = known.get(poolKey(ref));
    if (!pool) return null;
    const used = ledger.usedOf(ref);
    return {
      appliance: ref.appliance,
      pool: ref.pool,
      capacity: pool.capacity,
      usedBefore: used,
      usedAfter: used,
    };
  };
  const finishFirst = () => {
    // The move that ends first; on a tie the one started first, as a FIFO runner would see it.
    const next = running.reduce((a, b) => (b.endAt < a.endAt ? b : a));
    running = running.filter((r) => r !== next);
    now = Math.max(now, next.endAt);
    ledger.complete(next.hop);
    for (const c of next.timing.capacity) c.usedAfter = ledger.usedOf(c);
  };

  for (const hop of hops) {
    let check = canStart(
      ledger,
      hop,
      running.map((r) => r.hop),
      concurrency,
    );
    while (check !== 'ok' && running.length > 0) {
      finishFirst();
      check = canStart(
        ledger,
        hop,
        running.map((r) => r.hop),
        concurrency,
      );
    }
    if (check !== 'ok') {
      blocked.push(hop.id);
      continue;
    }
    const capacity = [usage(hop.from), usage(hop.to)].filter((u): u is PoolUsage => u !== null);
    ledger.reserve(hop);
    const target = poolKey(hop.to);
    peak.set(target, Math.max(peak.get(target) ?? 0, ledger.usedOf(hop.to)));
    const timing: HopTiming = {
      startAt: now,
      endAt: now + Math.max(0, durationOf(hop)),
      runsWith: running.map((r) => r.hop.id),
      capacity,
    };
    timings.set(hop.id, timing);
    running.push({ hop, endAt: timing.endAt, timing });
  }
  while (running.length > 0) finishFirst();
  return { timings, blocked, seconds: now, peak, after: ledger };
}
