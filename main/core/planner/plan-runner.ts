// `plan run`: re-checks a plan against a fresh inventory (nothing moves if a volume grew, a pool shrank,
// an appliance is offline or the plan no longer fits), then runs its hops in order with at most N moves
// at once, inside the window, by the same capacity rule as the planner's simulation. Every step's
// outcome is recorded as it happens, so an interrupted run continues where it was: finished steps
// stay done, moves still running on the agents are followed again rather than started twice.
import type { PlanProgress } from '../../../shared/bridge/events.js';
import type { Move, Plan } from '../../../shared/bridge/model.js';
import { FerryError, toFerryError } from '../../../shared/errors.js';
import { formatSizeApprox } from '../../../shared/names.js';
import type { Store } from '../store/store.js';
import { CapacityLedger, type Hop, poolKey } from './capacity-ledger.js';
import type { Settle } from './inventory-settle.js';
import { type MoveRunner, moveEndOf } from './move-runner.js';
import { PlanService } from './plan-service.js';
import { canStart } from './plan-simulation.js';
import { errorOf, type PlanEvaluation, stepId } from './plan-view.js';
import { type RunWindow, windowState } from './run-window.js';

export interface RunObserver {
  /** The plan's step states (the bridge's 'plan.progress' payload). */
  onPlan?(progress: PlanProgress): void;
  onMove?(hop: Hop, move: Move): void;
  /** A sentence for people: a step started or ended, waiting for the window, ... */
  onNote?(text: string): void;
}

export interface RunDeps {
  store: Store;
  /** Asks every agent for its inventory now (ConsoleCore.refresh). */
  refresh(): Promise<unknown>;
  moves: MoveRunner;
  /** Waits after a cutover until the inventory shows the source LV released (inventorySettler). */
  settle?: Settle;
  now?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RunOptions {
  concurrency?: number;
  window?: RunWindow | null;
  /** Aborting stops starting new moves; the ones running are followed to their end. */
  signal?: AbortSignal;
  observer?: RunObserver;
}

export interface RunResult {
  state: 'done' | 'failed' | 'stopped';
  message: string;
  plan: Plan;
}

const inProcess = new Set<string>();

export async function runPlan(deps: RunDeps, name: string, options: RunOptions = {}): Promise<RunResult> {
  const concurrency = options.concurrency ?? 1;
  const service = new PlanService(deps.store);
  const before = service.evaluate(name, concurrency);
  if (inProcess.has(before.record.id)) {
    throw new FerryError('ERR_MOVE_STATE', `plan ${name} is already running in this console`);
  }
  inProcess.add(before.record.id);
  try {
    await deps.refresh();
    const fresh = service.evaluate(name, concurrency);
    recheck(before, fresh);
    return await new PlanRun(deps, service, fresh, options).run();
  } finally {
    inProcess.delete(before.record.id);
  }
}

/** Refuses to start when the fresh inventory differs from what the plan was made from. */
function recheck(before: PlanEvaluation, fresh: PlanEvaluation): void {
  const name = fresh.record.name;
  const changes: string[] = [];
  const sizeBefore = new Map(before.inventory.volumes.map((v) => [v.name, v.size]));
  const moving = fresh.order.hops.filter((h) => h.outcome === 'run' || h.outcome === 'infeasible');
  for (const volume of new Set(moving.map((h) => h.volume))) {
    const now = fresh.inventory.volumes.find((v) => v.name === volume);
    const was = sizeBefore.get(volume);
    if (now && was !== undefined && now.size > was)
      changes.push(`volume ${volume} grew from ${formatSizeApprox(was)} to ${formatSizeApprox(now.size)}`);
  }
  for (const pool of before.order.pools) {
    const now = fresh.pools.find((p) => poolKey(p) === poolKey(pool));
    if (now && now.capacity < pool.capacity)
      changes.push(
        `pool ${poolKey(pool)} shrank from ${formatSizeApprox(pool.capacity)} to ${formatSizeApprox(now.capacity)}`,
      );
  }
  if (changes.length > 0) {
    throw new FerryError(
      'ERR_MOVE_STATE',
      `the inventory changed since plan ${name} was made: ${changes.join('; ')}. Nothing was moved: ` +
        `check the plan with ferry plan show ${name}, then run it again`,
      { changes },
    );
  }
  const offline = new Set(
    fresh.inventory.appliances.filter((a) => a.status !== 'online').map((a) => [a.name, a.message] as const),
  );
  const needed = new Set(moving.flatMap((h) => [h.from.appliance, h.to.appliance]));
  const down = [...offline].filter(([a]) => needed.has(a));
  if (down.length > 0) {
    throw new FerryError(
      'ERR_UNREACHABLE',
      `plan ${name} needs ${down.map(([a, why]) => (why ? `${a} (${why})` : a)).join(', ')}, ` +
        `which ${down.length > 1 ? 'are' : 'is'} not online. Nothing was moved: bring ${down.length > 1 ? 'them' : 'it'} back and run again`,
    );
  }
  if (!fresh.plan.feasible) {
    throw new FerryError(
      'ERR_NO_SPACE',
      `plan ${name} does not fit the fresh inventory: ${fresh.order.reason ?? 'see ferry plan show'}. Nothing was moved`,
    );
  }
}

class PlanRun {
  private readonly ledger: CapacityLedger;
  private readonly running = new Map<string, { hop: Hop; ended: Promise<void> }>();
  private failure: string | null = null;
  private stopped: string | null = null;
  private readonly now: () => Date;

  constructor(
    private readonly deps: RunDeps,
    private readonly service: PlanService,
    private readonly fresh: PlanEvaluation,
    private readonly options: RunOptions,
  ) {
    this.ledger = CapacityLedger.of(fresh.pools);
    this.now = deps.now ?? (() => new Date());
  }

  private get name(): string {
    return this.fresh.record.name;
  }

  async run(): Promise<RunResult> {
    this.settleArrived();
    const hops = this.fresh.order.hops.filter((h) => h.outcome === 'run');
    if (hops.length > 0 && !(await this.waitForWindow())) return this.finish(hops.length);
    this.deps.store.plans.setRunState(this.fresh.record.id, 'running');
    this.emit('running', null);
    const concurrency = this.options.concurrency ?? 1;
    let next = 0;
    for (;;) {
      this.checkStop();
      if (!this.failure && !this.stopped && next < hops.length) {
        const hop = hops[next];
        const running = [...this.running.values()].map((r) => r.hop);
        if (canStart(this.ledger, hop, running, concurrency) === 'ok') {
          next++;
          // A move an earlier run left going is followed, not started again (its space is reserved the same).
          const attached = this.attachable(hop);
          this.ledger.reserve(hop);
          this.running.set(hop.id, { hop, ended: this.runHop(hop, attached) });
          continue;
        }
        if (this.running.size === 0) {
          this.failure = `step ${hop.stepId} cannot start: pool ${poolKey(hop.to)} lacks ${formatSizeApprox(this.ledger.lack(hop))}`;
          continue;
        }
      }
      if (this.running.size === 0) break;
      await Promise.race([...this.running.values()].map((r) => r.ended));
    }
    return this.finish(hops.length - next);
  }

  /** Steps whose volume is on its target already: done when an earlier run moved it, else skipped. */
  private settleArrived(): void {
    for (const hop of this.fresh.order.hops) {
      const step = this.fresh.stepOf(hop);
      if (hop.outcome !== 'already-there' || !step) continue;
      this.deps.store.plans.finishStep(
        this.fresh.record.id,
        step.position,
        step.status === 'running' ? 'done' : 'skipped',
      );
    }
  }

  private async waitForWindow(): Promise<boolean> {
    const window = this.options.window;
    if (!window) return true;
    const state = windowState(window, this.now());
    if (state.inside) return true;
    const minutes = Math.ceil(state.opensInMs / 60_000);
    this.note(
      `waiting for the window ${window.text} (it opens in ${minutes} min); Ctrl-C leaves the plan as it is`,
    );
    const sleep = this.deps.sleep ?? abortableSleep;
    await sleep(state.opensInMs, this.options.signal);
    if (this.options.signal?.aborted) {
      this.stopped = 'stopped before the window opened';
      return false;
    }
    return true;
  }

  private checkStop(): void {
    if (this.failure || this.stopped) return;
    if (this.options.signal?.aborted) this.stopped = 'stopped on request';
    else if (this.options.window && !windowState(this.options.window, this.now()).inside)
      this.stopped = `the window ${this.options.window.text} closed`;
  }

  private async runHop(hop: Hop, attached: string | null): Promise<void> {
    const step = this.fresh.stepOf(hop);
    const planId = this.fresh.record.id;
    const plans = this.deps.store.plans;
    try {
      if (!step) throw new FerryError('ERR_INTERNAL', `hop ${hop.id} has no step in the store`);
      const source = this.deps.store.volumes.get(hop.volume)?.mapping;
      const moveId = attached ?? (await this.deps.moves.start(this.requestOf(hop)));
      this.recordRunning(step.position, moveId);
      this.note(
        `step ${hop.id}: ${hop.staging ? 'staging' : 'moving'} ${hop.volume} ${poolKey(hop.from)} -> ${poolKey(hop.to)} (move ${moveId})`,
      );
      const end = moveEndOf(
        await this.deps.moves.wait(moveId, (m) => this.options.observer?.onMove?.(hop, m)),
      );
      if (end.outcome === 'done') {
        await this.settle(hop, source);
        if (hop.staging) plans.setStep(planId, step.position, { status: 'pending', error: null });
        else plans.finishStep(planId, step.position, 'done');
        this.note(`step ${hop.id}: ${hop.volume} is on ${poolKey(hop.to)}`);
      } else {
        this.ledger.release(hop);
        const error = end.error ?? { code: 'ERR_MOVE_STATE', message: `the move was ${end.outcome}` };
        plans.finishStep(planId, step.position, 'failed', JSON.stringify(error));
        this.failure ??= `step ${hop.id} (${hop.volume}) ${end.outcome}: ${error.message}`;
      }
    } catch (err) {
      this.ledger.release(hop);
      const error = toFerryError(err);
      if (step)
        plans.finishStep(
          planId,
          step.position,
          'failed',
          JSON.stringify({ code: error.code, message: error.message }),
        );
      this.failure ??= `step ${hop.id} (${hop.volume}) could not run: ${error.message}`;
    } finally {
      this.running.delete(hop.id);
      this.emit('running', this.failure);
    }
  }

  /** Counts the source's space as free once the inventory shows it released (never with keepSource). */
  private async settle(hop: Hop, source: { appliance: string; pool: string; lv: string } | undefined) {
    if (this.fresh.options.keepSource) return;
    if (this.deps.settle && source && source.lv !== '') {
      const released = await this.deps.settle(hop.to, source).catch(() => false);
      if (!released)
        this.note(
          `step ${hop.id}: ${poolKey(source)} still shows ${hop.volume}'s old LV ${source.lv}; moves that need its space may be refused`,
        );
    }
    this.ledger.complete(hop);
  }

  /** The move an interrupted run left going for this hop, when the volume is still moving. */
  private attachable(hop: Hop): string | null {
    const step = this.fresh.stepOf(hop);
    const volume = this.fresh.inventory.volumes.find((v) => v.name === hop.volume);
    if (step?.status !== 'running' || !volume || volume.state === 'ready') return null;
    return step.moveId ?? volume.moveId;
  }

  private requestOf(hop: Hop) {
    const o = this.fresh.options;
    return {
      volume: hop.volume,
      to: hop.to,
      thin: hop.thin,
      throttleBps: o.throttleBps,
      verify: o.verify,
      keepSource: o.keepSource,
    };
  }

  private recordRunning(position: number, moveId: string): void {
    const plans = this.deps.store.plans;
    try {
      plans.setStep(this.fresh.record.id, position, { status: 'running', moveId, error: null });
    } catch {
      // The move is not (yet) a row of the store's moves table: keep the state, not the link to it.
      plans.setStep(this.fresh.record.id, position, { status: 'running', moveId: null, error: null });
    }
  }

  private finish(left: number): RunResult {
    const state = this.failure ? 'failed' : this.stopped && left > 0 ? 'stopped' : 'done';
    const again = `run ferry plan run ${this.name} again to continue`;
    const message =
      state === 'failed'
        ? `${this.failure}; the other moves were left to finish. Fix the cause, then ${again}`
        : state === 'stopped'
          ? `${this.stopped}: ${left} ${left === 1 ? 'step' : 'steps'} left; ${again}`
          : `plan ${this.name} done`;
    this.deps.store.plans.setRunState(this.fresh.record.id, state);
    this.emit(state, message);
    return { state, message, plan: this.service.show(this.name, this.options.concurrency ?? 1) };
  }

  private emit(state: PlanProgress['state'], message: string | null): void {
    const observer = this.options.observer;
    if (!observer?.onPlan) return;
    const record = this.deps.store.plans.require(this.fresh.record.id);
    observer.onPlan({
      plan: record.name,
      state,
      steps: record.steps.map((s) => ({
        id: stepId(s),
        state:
          (['pending', 'running', 'done', 'failed', 'skipped'] as const).find((x) => x === s.status) ??
          'pending',
        moveId: s.moveId,
        error: errorOf(s.error),
      })),
      message,
    });
  }

  private note(text: string): void {
    this.options.observer?.onNote?.(text);
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
