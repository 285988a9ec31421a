// Plan mode: a switch that turns drops into plan steps, the plan being edited, its run progress.
// Everything but `run` works with every appliance offline (the core plans from its store).

import type { Plan, PlanProgress, PlanSummary, PoolRef } from '../../../shared/bridge/index.js';
import type { Backend } from '../backend/backend.js';
import type { NotificationsService } from '../ui/notifications.svelte.js';
import { PendingAction } from '../ui/pending-action.svelte.js';

export class PlansService {
  planMode = $state(false);
  plans = $state.raw<PlanSummary[]>([]);
  current = $state.raw<Plan | null>(null);
  progress = $state.raw<PlanProgress | null>(null);
  /** Busy while an edit runs; its error is the last refusal of an edit or a run, shown in the plan view. */
  readonly #action = new PendingAction();

  constructor(
    private readonly backend: Backend,
    private readonly notifications: NotificationsService,
  ) {}

  get busy(): boolean {
    return this.#action.busy;
  }
  get error() {
    return this.#action.error;
  }

  async load(): Promise<void> {
    await this.#action.run(async () => {
      this.plans = await this.backend.call('plan.list');
      if (!this.current && this.plans.length > 0) {
        this.current = await this.backend.call('plan.show', { name: this.plans[0].name });
      }
    });
  }

  setPlanMode(on: boolean): void {
    this.planMode = on;
    if (on) void this.load();
  }

  async select(name: string): Promise<void> {
    await this.#action.run(async () => {
      this.current = await this.backend.call('plan.show', { name });
      this.progress = null;
    });
  }

  async create(name: string): Promise<boolean> {
    return this.#action.run(async () => {
      this.current = await this.backend.call('plan.create', { name });
      this.plans = await this.backend.call('plan.list');
    });
  }

  /** A drop in plan mode: adds a step to the current plan (making "plan-1" when there is none). */
  async addStep(volume: string, to: PoolRef): Promise<boolean> {
    return this.#action.run(async () => {
      let name = this.current?.name;
      if (!name) {
        name = this.#freeName();
        this.current = await this.backend.call('plan.create', { name });
      }
      this.current = await this.backend.call('plan.addStep', { name, volume, to });
      this.plans = await this.backend.call('plan.list');
    });
  }

  async removeStep(step: string): Promise<void> {
    const name = this.current?.name;
    if (!name) return;
    await this.#action.run(async () => {
      this.current = await this.backend.call('plan.removeStep', { name, step });
    });
  }

  async run(concurrency = 1): Promise<void> {
    const name = this.current?.name;
    if (!name) return;
    await this.#action.run(async () => {
      this.current = await this.backend.call('plan.run', { name, concurrency });
    });
  }

  async remove(): Promise<void> {
    const name = this.current?.name;
    if (!name) return;
    await this.#action.run(async () => {
      await this.backend.call('plan.delete', { name });
      this.current = null;
      this.plans = await this.backend.call('plan.list');
    });
  }

  /** From the 'plan.progress' stream. */
  onProgress(progress: PlanProgress): void {
    if (progress.plan !== this.current?.name) return;
    this.progress = progress;
    if (progress.state !== 'running') {
      const tone = progress.state === 'done' ? 'success' : 'warning';
      this.notifications.notify(tone, progress.message ?? `Plan ${progress.plan}: ${progress.state}.`);
      void this.select(progress.plan);
    }
  }

  #freeName(): string {
    const taken = new Set(this.plans.map((p) => p.name));
    let i = 1;
    while (taken.has(`plan-${i}`)) i++;
    return `plan-${i}`;
  }
}
