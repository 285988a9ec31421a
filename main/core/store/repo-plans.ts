// Plans: an ordered list of moves made offline. Kept minimal here; the planner owns their meaning.
import { randomUUID } from 'node:crypto';
import { FerryError } from '../../../shared/errors.js';
import { parseJsonColumn, type StoreContext, stmt } from './store-context.js';

export interface PlanStepTarget {
  appliance: string;
  pool: string;
}

export interface PlanStep {
  position: number;
  vvUuid: string;
  to: PlanStepTarget;
  /** Reserve the allocated bytes on the target instead of the full size (v4; false before). */
  thin: boolean;
  status: string;
  moveId: string | null;
  error: string | null;
  finishedAt: string | null;
}

export interface NewPlanStep {
  vvUuid: string;
  to: PlanStepTarget;
  thin?: boolean;
}

export interface Plan {
  id: string;
  name: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  /** Free-form options the planner owns (throttle, verify, keep source); {} before v4. */
  options: Record<string, unknown>;
  lastRunAt: string | null;
  steps: PlanStep[];
}

interface PlanRow {
  id: string;
  name: string;
  status: string;
  created_at: string;
  updated_at: string;
  options_json?: string;
  last_run_at?: string | null;
}

interface StepRow {
  position: number;
  vv_uuid: string;
  to_json: string;
  status: string;
  move_id: string | null;
  error: string | null;
  thin?: number;
  finished_at?: string | null;
}

export class PlansRepo {
  constructor(private readonly ctx: StoreContext) {}

  create(name: string, steps: NewPlanStep[], id: string = randomUUID()): Plan {
    if (name.trim() === '') throw new FerryError('ERR_INVALID_ARGUMENT', 'a plan needs a name');
    return this.ctx.db.transaction(() => {
      const now = this.ctx.now();
      stmt(
        this.ctx.db,
        'INSERT INTO plans (id, name, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
      ).run(id, name, 'draft', now, now);
      steps.forEach((step, position) => {
        this.insertStep(id, position, step);
      });
      this.ctx.audit('plan.create', id, { name, steps: steps.length });
      return this.require(id);
    })();
  }

  get(id: string): Plan | undefined {
    const row = stmt(this.ctx.db, 'SELECT * FROM plans WHERE id = ?').get(id) as PlanRow | undefined;
    if (!row) return undefined;
    const steps = stmt(this.ctx.db, 'SELECT * FROM plan_steps WHERE plan_id = ? ORDER BY position').all(
      id,
    ) as StepRow[];
    return {
      id: row.id,
      name: row.name,
      status: row.status,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      options: parseJsonColumn<Record<string, unknown>>(row.options_json, {}),
      lastRunAt: row.last_run_at ?? null,
      steps: steps.map((s) => ({
        position: s.position,
        vvUuid: s.vv_uuid,
        to: parseJsonColumn<PlanStepTarget>(s.to_json, { appliance: '', pool: '' }),
        thin: s.thin === 1,
        status: s.status,
        moveId: s.move_id,
        error: s.error,
        finishedAt: s.finished_at ?? null,
      })),
    };
  }

  require(id: string): Plan {
    const plan = this.get(id);
    if (!plan) throw new FerryError('ERR_NOT_FOUND', `no plan ${JSON.stringify(id)}`);
    return plan;
  }

  /** The newest plan of that name (names are kept unique by the planner, not by the schema). */
  byName(name: string): Plan | undefined {
    const row = stmt(
      this.ctx.db,
      'SELECT id FROM plans WHERE name = ? ORDER BY created_at DESC, rowid DESC LIMIT 1',
    ).get(name) as { id: string } | undefined;
    return row ? this.get(row.id) : undefined;
  }

  list(): Plan[] {
    const ids = stmt(this.ctx.db, 'SELECT id FROM plans ORDER BY created_at DESC').all() as { id: string }[];
    return ids.map((r) => this.require(r.id));
  }

  setStatus(id: string, status: string): void {
    this.ctx.db.transaction(() => {
      const plan = this.require(id);
      stmt(this.ctx.db, 'UPDATE plans SET status = ?, updated_at = ? WHERE id = ?').run(
        status,
        this.ctx.now(),
        id,
      );
      this.ctx.audit('plan.status', id, { from: plan.status, to: status });
    })();
  }

  setStep(
    id: string,
    position: number,
    patch: { status?: string; moveId?: string | null; error?: string | null },
  ): void {
    this.ctx.db.transaction(() => {
      const step = this.require(id).steps.find((s) => s.position === position);
      if (!step) throw new FerryError('ERR_NOT_FOUND', `plan ${id} has no step ${position}`);
      stmt(
        this.ctx.db,
        'UPDATE plan_steps SET status = ?, move_id = ?, error = ? WHERE plan_id = ? AND position = ?',
      ).run(
        patch.status ?? step.status,
        patch.moveId === undefined ? step.moveId : patch.moveId,
        patch.error === undefined ? step.error : patch.error,
        id,
        position,
      );
      stmt(this.ctx.db, 'UPDATE plans SET updated_at = ? WHERE id = ?').run(this.ctx.now(), id);
      this.ctx.audit('plan.step', id, { position, ...patch });
    })();
  }

  /** Appends a step after the last one; returns it (its position is never reused while the plan lives). */
  addStep(id: string, step: NewPlanStep): PlanStep {
    return this.ctx.db.transaction(() => {
      const plan = this.require(id);
      const position = plan.steps.reduce((max, s) => Math.max(max, s.position + 1), 0);
      this.insertStep(id, position, step);
      stmt(this.ctx.db, 'UPDATE plans SET updated_at = ? WHERE id = ?').run(this.ctx.now(), id);
      this.ctx.audit('plan.step.add', id, { position, vvUuid: step.vvUuid, to: step.to, thin: !!step.thin });
      return this.require(id).steps.find((s) => s.position === position)!;
    })();
  }

  removeStep(id: string, position: number): void {
    this.ctx.db.transaction(() => {
      const step = this.require(id).steps.find((s) => s.position === position);
      if (!step) throw new FerryError('ERR_NOT_FOUND', `plan ${id} has no step ${position}`);
      stmt(this.ctx.db, 'DELETE FROM plan_steps WHERE plan_id = ? AND position = ?').run(id, position);
      stmt(this.ctx.db, 'UPDATE plans SET updated_at = ? WHERE id = ?').run(this.ctx.now(), id);
      this.ctx.audit('plan.step.remove', id, { position, vvUuid: step.vvUuid });
    })();
  }

  setOptions(id: string, options: Record<string, unknown>): void {
    this.ctx.db.transaction(() => {
      this.require(id);
      stmt(this.ctx.db, 'UPDATE plans SET options_json = ?, updated_at = ? WHERE id = ?').run(
        JSON.stringify(options),
        this.ctx.now(),
        id,
      );
      this.ctx.audit('plan.options', id, options);
    })();
  }

  /** A run started or ended: the plan's status and when (the summary's lastRun). */
  setRunState(id: string, status: string): void {
    this.ctx.db.transaction(() => {
      const plan = this.require(id);
      const now = this.ctx.now();
      stmt(this.ctx.db, 'UPDATE plans SET status = ?, last_run_at = ?, updated_at = ? WHERE id = ?').run(
        status,
        now,
        now,
        id,
      );
      this.ctx.audit('plan.status', id, { from: plan.status, to: status });
    })();
  }

  /** Marks a step finished (done, failed, skipped) now. */
  finishStep(id: string, position: number, status: string, error: string | null = null): void {
    this.ctx.db.transaction(() => {
      this.setStep(id, position, { status, error });
      stmt(this.ctx.db, 'UPDATE plan_steps SET finished_at = ? WHERE plan_id = ? AND position = ?').run(
        this.ctx.now(),
        id,
        position,
      );
    })();
  }

  private insertStep(id: string, position: number, step: NewPlanStep): void {
    if (step.thin) {
      stmt(
        this.ctx.db,
        'INSERT INTO plan_steps (plan_id, position, vv_uuid, to_json, thin) VALUES (?, ?, ?, ?, 1)',
      ).run(id, position, step.vvUuid, JSON.stringify(step.to));
      return;
    }
    // Without the thin column, so a store opened at v3 (migration fixtures) can still create plans.
    stmt(this.ctx.db, 'INSERT INTO plan_steps (plan_id, position, vv_uuid, to_json) VALUES (?, ?, ?, ?)').run(
      id,
      position,
      step.vvUuid,
      JSON.stringify(step.to),
    );
  }

  remove(id: string): void {
    this.ctx.db.transaction(() => {
      this.require(id);
      stmt(this.ctx.db, 'DELETE FROM plans WHERE id = ?').run(id);
      this.ctx.audit('plan.remove', id, {});
    })();
  }
}
