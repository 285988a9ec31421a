// Builds the bridge's Plan (shared/bridge/model.ts planSchema) from a stored plan and the store's last
// inventory: the console's own pool and volume views feed the pure order search, and estimates come
// from measured link throughput. Works with every appliance offline.
import type { ErrorInfo } from '../../../shared/bridge/fields.js';
import type { Inventory, Plan, PlanStep, PlanStepState } from '../../../shared/bridge/model.js';
import { inventoryView } from '../console/views.js';
import type { Plan as StoredPlan, PlanStep as StoredStep } from '../store/repo-plans.js';
import type { Store } from '../store/store.js';
import type { Hop, PoolSpace } from './capacity-ledger.js';
import {
  copyBytes,
  estimateJob,
  guessWarning,
  type LinkRate,
  planEstimate,
  storeLinkRate,
} from './estimate.js';
import {
  type OrderedHop,
  type OrderResult,
  planOrder,
  type StepRequest,
  type VolumePlace,
} from './plan-order.js';

export interface PlanOptions {
  /** Bytes per second for each move; null: no limit. */
  throttleBps: number | null;
  verify: boolean;
  keepSource: boolean;
}

export const DEFAULT_PLAN_OPTIONS: PlanOptions = { throttleBps: null, verify: false, keepSource: false };

/** Everything computed for one plan: what the bridge shows, and what the runner needs behind it. */
export interface PlanEvaluation {
  plan: Plan;
  record: StoredPlan;
  order: OrderResult;
  pools: PoolSpace[];
  inventory: Inventory;
  options: PlanOptions;
  /** The stored step behind each hop (by the hop's stepId). */
  stepOf(hop: Hop): StoredStep | undefined;
}

export function stepId(step: StoredStep): string {
  return String(step.position + 1);
}

export function planOptionsOf(record: StoredPlan): PlanOptions {
  const o = record.options;
  const throttle = typeof o.throttleBps === 'number' && o.throttleBps > 0 ? o.throttleBps : null;
  return { throttleBps: throttle, verify: o.verify === true, keepSource: o.keepSource === true };
}

export function evaluatePlan(store: Store, record: StoredPlan, concurrency = 1): PlanEvaluation {
  const inventory = inventoryView(store, () => null);
  const options = planOptionsOf(record);
  const linkRate = storeLinkRate(store);
  // Space promised to moves already in progress counts as used: the planner must not hand it out twice.
  const pools: PoolSpace[] = inventory.pools.map((p) => ({
    appliance: p.appliance,
    pool: p.name,
    capacity: p.capacity,
    used: p.used + p.reserved,
  }));
  releaseOwnMoves(store, record, inventory, pools);
  const volumes: VolumePlace[] = inventory.volumes.map((v) => ({
    name: v.name,
    size: v.size,
    allocated: v.allocated,
    appliance: v.appliance,
    pool: v.pool,
    moving: v.state === 'moving' || v.state === 'degraded',
    // A plan that keeps its sources frees nothing at cutover.
    ...(options.keepSource ? { held: 0 } : {}),
  }));
  const nameOf = new Map(inventory.volumes.map((v) => [v.uuid, v.name]));
  const steps: StepRequest[] = record.steps.map((s) => ({
    id: stepId(s),
    volume: nameOf.get(s.vvUuid) ?? s.vvUuid,
    to: s.to,
    thin: s.thin,
    done: s.status === 'done',
  }));
  const order = planOrder({
    pools,
    volumes,
    steps,
    concurrency,
    durationOf: (hop) => estimateJob(hop, linkRate, options.throttleBps).seconds ?? 0,
  });
  const byId = new Map(record.steps.map((s) => [stepId(s), s]));
  const stepOf = (hop: Hop) => byId.get(hop.stepId);
  return {
    plan: toPlan(record, order, inventory, linkRate, options, stepOf),
    record,
    order,
    pools,
    inventory,
    options,
    stepOf,
  };
}

/**
 * A step whose volume is already moving to the step's target (a run interrupted mid-move): the view
 * counts that move's target in the pool's usage, and the step reserves it again. Count it once.
 */
function releaseOwnMoves(store: Store, record: StoredPlan, inventory: Inventory, pools: PoolSpace[]): void {
  for (const step of record.steps) {
    const volume = inventory.volumes.find((v) => v.uuid === step.vvUuid);
    const move = volume?.moveId ? store.moves.get(volume.moveId) : undefined;
    if (!volume || !move || move.to.appliance !== step.to.appliance || move.to.pool !== step.to.pool)
      continue;
    const pool = pools.find((p) => p.appliance === step.to.appliance && p.pool === step.to.pool);
    if (pool) pool.used = Math.max(0, pool.used - volume.size);
  }
}

function toPlan(
  record: StoredPlan,
  order: OrderResult,
  inventory: Inventory,
  linkRate: LinkRate,
  options: PlanOptions,
  stepOf: (hop: Hop) => StoredStep | undefined,
): Plan {
  const firstHopOf = new Map<string, string>();
  for (const hop of order.hops) if (!firstHopOf.has(hop.stepId)) firstHopOf.set(hop.stepId, hop.id);
  const steps: PlanStep[] = order.hops.map((hop) => {
    const stored = stepOf(hop);
    // A stored run state belongs to the step's first hop still to do (the staging hop when there is one).
    const owns = firstHopOf.get(hop.stepId) === hop.id;
    const moves = hop.outcome === 'run' || hop.outcome === 'infeasible';
    return {
      id: hop.id,
      order: hop.order,
      volume: hop.volume,
      from: hop.from,
      to: hop.to,
      thin: hop.thin,
      sizeBytes: hop.sizeBytes,
      allocatedBytes: hop.allocatedBytes,
      reserveBytes: hop.reserveBytes,
      estimate: moves
        ? estimateJob(hop, linkRate, options.throttleBps)
        : { seconds: 0, basis: 'measured', rateBps: null },
      staging: hop.staging,
      feasible: hop.feasible,
      reason: hop.reason,
      capacity: hop.capacity,
      state: stateOf(hop, stored, owns),
      moveId: owns ? (stored?.moveId ?? null) : null,
      error: owns ? errorOf(stored?.error ?? null) : null,
    };
  });
  const moving = order.hops.filter((h) => h.outcome === 'run');
  const warnings = [...(order.reason ? [order.reason] : []), ...order.warnings];
  const guess = guessWarning(moving, linkRate);
  if (guess) warnings.push(guess);
  if (inventory.asOf === null && record.steps.length > 0)
    warnings.push('no inventory has been read yet: run ferry inventory --refresh with the appliances online');
  return {
    name: record.name,
    feasible: order.feasible,
    steps,
    pools: order.pools,
    estimate: planEstimate(
      moving.map((h) => ({ bytes: copyBytes(h), estimate: estimateJob(h, linkRate, options.throttleBps) })),
      order.seconds,
    ),
    warnings,
    staging: order.staging.map((s) => ({ volume: s.volume, via: s.via, reason: s.reason })),
    inventoryAsOf: inventory.asOf,
    running: record.status === 'running',
  };
}

const STATES: readonly PlanStepState[] = ['pending', 'running', 'done', 'failed', 'skipped'];

function stateOf(hop: OrderedHop, stored: StoredStep | undefined, owns: boolean): PlanStepState {
  if (hop.outcome === 'done') return 'done';
  if (hop.outcome === 'already-there') return 'skipped';
  if (!owns || !stored) return 'pending';
  // Skipped by a run while the volume was on its target; it has moved since, so it is to do again.
  if (stored.status === 'skipped' || stored.status === 'done') return 'pending';
  return STATES.includes(stored.status as PlanStepState) ? (stored.status as PlanStepState) : 'pending';
}

/** Step errors are stored as JSON of { code, message }; older or hand-written text is kept as the message. */
export function errorOf(text: string | null): ErrorInfo | null {
  if (text === null || text === '') return null;
  try {
    const parsed = JSON.parse(text) as Partial<ErrorInfo>;
    if (typeof parsed.code === 'string' && typeof parsed.message === 'string')
      return { code: parsed.code, message: parsed.message };
  } catch {
    // Not JSON: a plain message.
  }
  return { code: 'ERR_INTERNAL', message: text };
}
