// Named migration plans kept in the store: create, add and remove steps, show, list, delete, export
// and import as JSON. Every call works offline from the last inventory; `show` recomputes the order
// each time, so a plan always reflects what the store knows now and how old that is.
import { z } from 'zod';
import type { Plan, PlanSummary } from '../../../shared/bridge/model.js';
import { FerryError } from '../../../shared/errors.js';
import { validateName } from '../../../shared/names.js';
import { poolViews } from '../console/views.js';
import type { Plan as StoredPlan } from '../store/repo-plans.js';
import type { Store } from '../store/store.js';
import {
  DEFAULT_PLAN_OPTIONS,
  evaluatePlan,
  type PlanEvaluation,
  type PlanOptions,
  planOptionsOf,
  stepId,
} from './plan-view.js';

export const PLAN_EXPORT_FORMAT = 'ferry-plan';

const exportedPlanSchema = z.object({
  format: z.literal(PLAN_EXPORT_FORMAT, { error: `must be "${PLAN_EXPORT_FORMAT}"` }),
  version: z.literal(1, { error: 'must be 1 (this Ferry reads version 1 plans)' }),
  name: z.string(),
  options: z
    .object({
      throttleBps: z.number().positive().nullable().default(null),
      verify: z.boolean().default(false),
      keepSource: z.boolean().default(false),
    })
    .default(DEFAULT_PLAN_OPTIONS),
  steps: z.array(
    z.object({
      volume: z.string(),
      uuid: z.string().optional(),
      to: z.object({ appliance: z.string(), pool: z.string() }),
      thin: z.boolean().default(false),
    }),
  ),
});
export type ExportedPlan = z.input<typeof exportedPlanSchema>;

export interface AddStepParams {
  volume: string;
  to: { appliance: string; pool: string };
  thin?: boolean;
}

export class PlanService {
  constructor(private readonly store: Store) {}

  list(): PlanSummary[] {
    return this.store.plans.list().map((p) => ({
      name: p.name,
      steps: p.steps.length,
      updatedAt: p.updatedAt,
      lastRun: p.lastRunAt ? { state: p.status, at: p.lastRunAt } : null,
    }));
  }

  create(name: string, options: Partial<PlanOptions> = {}): Plan {
    validateName('plan', name);
    checkOptions(options);
    const record = this.store.transaction(() => {
      this.refuseTaken(name);
      const created = this.store.plans.create(name, []);
      this.store.plans.setOptions(created.id, { ...DEFAULT_PLAN_OPTIONS, ...options });
      return this.store.plans.require(created.id);
    });
    return evaluatePlan(this.store, record).plan;
  }

  show(name: string, concurrency = 1): Plan {
    return this.evaluate(name, concurrency).plan;
  }

  evaluate(name: string, concurrency = 1): PlanEvaluation {
    return evaluatePlan(this.store, this.require(name), concurrency);
  }

  addStep(name: string, params: AddStepParams): Plan {
    const record = this.store.transaction(() => {
      const plan = this.require(name);
      refuseRunning(plan);
      const volume = this.store.volumes.get(params.volume);
      if (!volume) {
        throw new FerryError(
          'ERR_NOT_FOUND',
          `no volume ${params.volume} in the inventory: see ferry volume list (or ferry inventory --refresh)`,
        );
      }
      const ref = `${params.to.appliance}/${params.to.pool}`;
      const known = poolViews(this.store).some(
        (p) => p.appliance === params.to.appliance && p.name === params.to.pool,
      );
      if (!known)
        throw new FerryError('ERR_NOT_FOUND', `no pool ${ref} in the inventory: see ferry inventory`);
      const already = plan.steps.find((s) => s.vvUuid === volume.uuid);
      if (already) {
        throw new FerryError(
          'ERR_ALREADY_EXISTS',
          `plan ${name} already moves ${volume.name} (step ${stepId(already)}, to ${already.to.appliance}/${already.to.pool}): ` +
            `remove it first with ferry plan remove ${name} ${stepId(already)}`,
        );
      }
      this.store.plans.addStep(plan.id, { vvUuid: volume.uuid, to: params.to, thin: params.thin === true });
      return this.store.plans.require(plan.id);
    });
    return evaluatePlan(this.store, record).plan;
  }

  removeStep(name: string, step: string): Plan {
    const record = this.store.transaction(() => {
      const plan = this.require(name);
      refuseRunning(plan);
      if (step.endsWith('.stage')) {
        throw new FerryError(
          'ERR_INVALID_ARGUMENT',
          `step ${step} is a staging hop the planner proposes: remove step ${step.slice(0, -'.stage'.length)} instead`,
        );
      }
      const found = plan.steps.find((s) => stepId(s) === step);
      if (!found) {
        const ids = plan.steps.map(stepId).join(', ') || 'none';
        throw new FerryError('ERR_NOT_FOUND', `plan ${name} has no step ${step} (its steps: ${ids})`);
      }
      this.store.plans.removeStep(plan.id, found.position);
      return this.store.plans.require(plan.id);
    });
    return evaluatePlan(this.store, record).plan;
  }

  delete(name: string): void {
    this.store.plans.remove(this.require(name).id);
  }

  /** The plan as a JSON document another console (or this one, later) can import. */
  export(name: string): string {
    const record = this.require(name);
    const volumes = new Map(this.store.volumes.list().map((v) => [v.uuid, v.name]));
    const doc: ExportedPlan = {
      format: PLAN_EXPORT_FORMAT,
      version: 1,
      name: record.name,
      options: planOptionsOf(record),
      steps: record.steps.map((s) => ({
        volume: volumes.get(s.vvUuid) ?? s.vvUuid,
        uuid: s.vvUuid,
        to: s.to,
        thin: s.thin,
      })),
    };
    return `${JSON.stringify({ ...doc, exportedAt: new Date().toISOString() }, null, 2)}\n`;
  }

  /** Imports an exported plan, under `name` when given; its volumes must be in this store's inventory. */
  import(json: string, name?: string): Plan {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (err) {
      throw new FerryError('ERR_INVALID_ARGUMENT', `the plan is not JSON: ${(err as Error).message}`);
    }
    const parsed = exportedPlanSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((i) => `${i.path.join('.') || 'document'}: ${i.message}`)
        .join('; ');
      throw new FerryError('ERR_INVALID_ARGUMENT', `not a Ferry plan export: ${issues}`);
    }
    const doc = parsed.data;
    const planName = validateName('plan', name ?? doc.name);
    const missing: string[] = [];
    const steps = doc.steps.map((s) => {
      const volume =
        (s.uuid ? this.store.volumes.get(s.uuid) : undefined) ?? this.store.volumes.get(s.volume);
      if (!volume) missing.push(s.volume);
      return { vvUuid: volume?.uuid ?? '', to: { appliance: s.to.appliance, pool: s.to.pool }, thin: s.thin };
    });
    if (missing.length > 0) {
      throw new FerryError(
        'ERR_NOT_FOUND',
        `the plan moves volumes this inventory does not have: ${missing.join(', ')} (see ferry volume list)`,
      );
    }
    const twice = steps.find((s, i) => steps.findIndex((o) => o.vvUuid === s.vvUuid) !== i);
    if (twice)
      throw new FerryError(
        'ERR_INVALID_ARGUMENT',
        'the plan moves one volume twice: a plan moves a volume once',
      );
    const record = this.store.transaction(() => {
      this.refuseTaken(planName, true);
      const created = this.store.plans.create(planName, steps);
      this.store.plans.setOptions(created.id, { ...doc.options });
      return this.store.plans.require(created.id);
    });
    return evaluatePlan(this.store, record).plan;
  }

  require(name: string): StoredPlan {
    const plan = this.store.plans.byName(name);
    if (!plan) throw new FerryError('ERR_NOT_FOUND', `no plan named ${name}: see ferry plan list`);
    return plan;
  }

  private refuseTaken(name: string, importing = false): void {
    if (this.store.plans.byName(name)) {
      throw new FerryError(
        'ERR_ALREADY_EXISTS',
        `a plan named ${name} already exists: ${importing ? 'import it with --name NEW, or ' : 'choose another name, or '}delete it with ferry plan delete ${name}`,
      );
    }
  }
}

function refuseRunning(plan: StoredPlan): void {
  if (plan.status === 'running') {
    throw new FerryError(
      'ERR_MOVE_STATE',
      `plan ${plan.name} is running: wait for it to end (ferry plan show ${plan.name}) before changing it; ` +
        `if the console running it was closed, ferry plan run ${plan.name} finishes it`,
    );
  }
}

function checkOptions(options: Partial<PlanOptions>): void {
  const t = options.throttleBps;
  if (t !== undefined && t !== null && !(Number.isFinite(t) && t > 0)) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `the throttle must be a positive rate in bytes per second, not ${t}`,
    );
  }
}
