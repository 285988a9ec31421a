// The order search: finds a sequence of hops in which each one fits on its target when it starts.
// Greedy first (steps that free room others wait for go first, then the admin's order), backed by a
// bounded depth-first search that backtracks when greedy paints itself into a corner. When no order
// exists it stages a blocked volume through a pool with room (breaking cycles of full pools), and
// when even that fails it explains, per hop, which pool lacks how many bytes.
import { formatSizeApprox } from '../../../shared/names.js';
import { type CapacityLedger, type Hop, type PoolRef, poolKey, samePool } from './capacity-ledger.js';

export interface StagingNote {
  volume: string;
  stepId: string;
  via: PoolRef;
  reason: string;
}

export interface SearchResult {
  /** Hops in the order they can run (staging hops included). */
  order: Hop[];
  staging: StagingNote[];
  /** Hops no order can run, with the reason, and the ledger at the point the search stopped. */
  infeasible: { hop: Hop; reason: string }[];
  /** True when the search ran out of budget, so an order may exist that it did not find. */
  exhausted: boolean;
}

export interface SearchLimits {
  /** Nodes the depth-first search may visit in all (backtracking is exponential in the worst case). */
  budget: number;
  /** How many staging hops the planner may add. */
  stagingDepth: number;
}

export const DEFAULT_LIMITS: SearchLimits = { budget: 20_000, stagingDepth: 4 };

const size = formatSizeApprox;

export function searchOrder(
  ledger: CapacityLedger,
  pending: readonly Hop[],
  pools: readonly PoolRef[],
  limits: SearchLimits = DEFAULT_LIMITS,
): SearchResult {
  const search = new OrderSearch(pools, limits);
  const solve = (hops: readonly Hop[]) => search.solve(ledger, hops, limits.stagingDepth, new Set());
  const first = solve(pending);
  let best = first;
  // When not everything fits, keep as much of the plan as can run: leave out blocked steps (the one
  // whose absence lets all others run, else the admin's latest) until the rest has an order.
  let kept = [...pending];
  const dropped: Hop[] = [];
  while (best.infeasible.length > 0 && kept.length > 1 && !search.exhausted) {
    const blocked = new Set(best.infeasible.map((i) => i.hop.stepId));
    const candidates = kept.filter((h) => blocked.has(h.stepId)).reverse();
    if (candidates.length === 0) break;
    let next: { hop: Hop; result: ReturnType<typeof solve> } | null = null;
    for (const hop of candidates) {
      const result = solve(kept.filter((h) => h !== hop));
      if (result.infeasible.length === 0) {
        next = { hop, result };
        break;
      }
    }
    next ??= { hop: candidates[0], result: solve(kept.filter((h) => h !== candidates[0])) };
    dropped.push(next.hop);
    kept = kept.filter((h) => h !== next.hop);
    best = next.result;
  }
  // Leaving steps out only helps when what remains runs whole; else the first diagnosis says more.
  if (dropped.length === 0 || best.infeasible.length > 0) return { ...first, exhausted: search.exhausted };
  const after = ledger.clone();
  for (const hop of best.order) {
    after.reserve(hop);
    after.complete(hop);
  }
  const stuck = [...best.infeasible.map((i) => i.hop), ...dropped];
  return {
    order: best.order,
    staging: best.staging,
    infeasible: [
      ...best.infeasible,
      ...dropped.reverse().map((hop) => ({ hop, reason: search.lackReason(after, hop, stuck) })),
    ],
    exhausted: search.exhausted,
  };
}

class OrderSearch {
  private budget: number;
  get exhausted(): boolean {
    return this.budget <= 0;
  }
  /** Pending sets (hop id and where its volume sits) from which no order exists. */
  private readonly dead = new Set<string>();

  constructor(
    private readonly pools: readonly PoolRef[],
    limits: SearchLimits,
  ) {
    this.budget = limits.budget;
  }

  solve(
    ledger: CapacityLedger,
    pending: readonly Hop[],
    stagingLeft: number,
    staged: ReadonlySet<string>,
  ): Omit<SearchResult, 'exhausted'> {
    const direct = this.findOrder(ledger, pending);
    if (direct) return { order: direct, staging: [], infeasible: [] };
    const stuck = this.greedy(ledger, pending);
    if (stagingLeft > 0) {
      for (const { hop, via } of this.stagingOptions(stuck.ledger, stuck.pending, staged)) {
        const first: Hop = { ...hop, id: `${hop.stepId}.stage`, to: via, staging: true };
        const then: Hop = { ...hop, from: via, heldBytes: hop.reserveBytes };
        const next = stuck.ledger.clone();
        next.reserve(first);
        next.complete(first);
        const rest = this.solve(
          next,
          stuck.pending.map((h) => (h === hop ? then : h)),
          stagingLeft - 1,
          new Set([...staged, hop.stepId]),
        );
        if (rest.infeasible.length === 0) {
          const note: StagingNote = {
            volume: hop.volume,
            stepId: hop.stepId,
            via,
            reason: `${this.blockage(hop, stuck.pending)}: ${hop.volume} goes through ${poolKey(via)} first (an extra move of ${size(hop.reserveBytes)})`,
          };
          return {
            order: [...stuck.order, first, ...rest.order],
            staging: [note, ...rest.staging],
            infeasible: [],
          };
        }
      }
    }
    return {
      order: stuck.order,
      staging: [],
      infeasible: stuck.pending.map((hop) => ({
        hop,
        reason: this.lackReason(stuck.ledger, hop, stuck.pending),
      })),
    };
  }

  /** Depth-first over the hops that fit, best first; null when none of the orders works. */
  private findOrder(ledger: CapacityLedger, pending: readonly Hop[]): Hop[] | null {
    if (pending.length === 0) return [];
    const key = stateKey(pending);
    if (this.dead.has(key) || this.budget <= 0) return null;
    for (const hop of rank(ledger, pending)) {
      this.budget--;
      const next = ledger.clone();
      next.reserve(hop);
      next.complete(hop);
      const rest = this.findOrder(
        next,
        pending.filter((h) => h !== hop),
      );
      if (rest) return [hop, ...rest];
      // Out of budget: the subtree was not fully explored, so it must not be remembered as dead.
      if (this.budget <= 0) return null;
    }
    this.dead.add(key);
    return null;
  }

  /** Takes the best hop that fits until none does: where staging or the diagnosis starts from. */
  private greedy(ledger: CapacityLedger, pending: readonly Hop[]) {
    const state = { ledger: ledger.clone(), pending: [...pending], order: [] as Hop[] };
    for (;;) {
      const [best] = rank(state.ledger, state.pending);
      if (!best) return state;
      state.ledger.reserve(best);
      state.ledger.complete(best);
      state.order.push(best);
      state.pending = state.pending.filter((h) => h !== best);
    }
  }

  /**
   * Blocked hops whose leaving would give room to another blocked hop, each with the pools that can
   * hold it meanwhile (most free space first). Moving a volume nobody waits for would not help.
   */
  private stagingOptions(ledger: CapacityLedger, blocked: readonly Hop[], staged: ReadonlySet<string>) {
    const options: { hop: Hop; via: PoolRef }[] = [];
    for (const hop of blocked) {
      if (staged.has(hop.stepId)) continue;
      if (!blocked.some((other) => other !== hop && samePool(other.to, hop.from))) continue;
      const vias = this.pools
        .filter((p) => !samePool(p, hop.from) && !samePool(p, hop.to))
        .filter((p) => ledger.freeOf(p) >= hop.reserveBytes)
        .sort((a, b) => ledger.freeOf(b) - ledger.freeOf(a))
        .slice(0, 3);
      for (const via of vias) options.push({ hop, via });
    }
    return options.slice(0, 8);
  }

  /** Names the cycle of full pools (or the chain) that keeps a hop from starting. */
  private blockage(hop: Hop, blocked: readonly Hop[]): string {
    const cycle = findCycle(hop, blocked);
    if (cycle?.length === 2) {
      const other = blocked.find((h) => h !== hop && samePool(h.from, hop.to) && samePool(h.to, hop.from));
      return `${poolKey(hop.from)} and ${poolKey(hop.to)} are too full to swap ${hop.volume}${other ? ` and ${other.volume}` : ''} directly`;
    }
    if (cycle)
      return `${[...cycle, cycle[0]].map(poolKey).join(' -> ')} is a cycle of pools too full to start`;
    return `no direct order leaves room on ${poolKey(hop.to)} for ${hop.volume}`;
  }

  lackReason(ledger: CapacityLedger, hop: Hop, blocked: readonly Hop[]): string {
    const target = poolKey(hop.to);
    const capacity = ledger.capacityOf(hop.to);
    if (ledger.lack(hop) === 0) {
      return `no order of the other steps leaves room for ${hop.volume} on ${target} when it would run (${size(hop.reserveBytes)} needed)`;
    }
    let reason = `pool ${target} lacks ${size(ledger.lack(hop))}`;
    if (hop.reserveBytes > capacity) {
      reason += ` (${hop.volume} needs ${size(hop.reserveBytes)}; the pool holds ${size(capacity)} in all)`;
    } else {
      reason += ` for ${hop.volume} (needs ${size(hop.reserveBytes)}, ${size(Math.max(0, ledger.freeOf(hop.to)))} free after the steps that can run)`;
    }
    if (findCycle(hop, blocked)) {
      const room = this.stagingOptions(ledger, blocked, new Set()).some((o) => o.hop === hop);
      reason += room
        ? `; ${this.blockage(hop, blocked)}, and staging through another pool does not make room either`
        : `; ${this.blockage(hop, blocked)} and no other pool has ${size(hop.reserveBytes)} free to stage through`;
    }
    return reason;
  }
}

/** Hops that fit now, those freeing a pool another blocked hop targets first, then in the admin's order. */
function rank(ledger: CapacityLedger, pending: readonly Hop[]): Hop[] {
  const blocked = pending.filter((h) => !ledger.fits(h));
  const helps = (hop: Hop) => blocked.some((b) => samePool(b.to, hop.from));
  return pending
    .map((hop, index) => ({ hop, index, helps: helps(hop) }))
    .filter((c) => ledger.fits(c.hop))
    .sort((a, b) => Number(b.helps) - Number(a.helps) || a.index - b.index)
    .map((c) => c.hop);
}

function stateKey(pending: readonly Hop[]): string {
  return pending
    .map((h) => `${h.id}@${poolKey(h.from)}`)
    .sort()
    .join('|');
}

/** The pools from the hop's source round a chain of blocked hops back to it, or null when no cycle. */
function findCycle(start: Hop, blocked: readonly Hop[]): PoolRef[] | null {
  const pools: PoolRef[] = [start.from];
  let at = start.to;
  for (let i = 0; i < blocked.length; i++) {
    if (samePool(at, start.from)) return pools;
    if (pools.some((p) => samePool(p, at))) return null;
    pools.push(at);
    const from = at;
    const next = blocked.find((h) => h !== start && samePool(h.from, from));
    if (!next) return null;
    at = next.to;
  }
  return samePool(at, start.from) ? pools : null;
}
