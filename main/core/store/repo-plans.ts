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
  status: string;
  moveId: string | null;
  error: string | null;
}

export interface Plan {
  id: string;
  name: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  steps: PlanStep[];
}

interface PlanRow {
  id: string;
  name: string;
  status: string;
  created_at: string;
  updated_at: string;
}

interface StepRow {
  position: number;
  vv_uuid: string;
  to_json: string;
  status: string;
  move_id: string | null;
  error: string | null;
}

export class PlansRepo {
  constructor(private readonly ctx: StoreContext) {}

  create(name: string, steps: { vvUuid: string; to: PlanStepTarget }[], id: string = randomUUID()): Plan {
    if (name.trim() === '') throw new FerryError('ERR_INVALID_ARGUMENT', 'a plan needs a name');
    return this.ctx.db.transaction(() => {
      const now = this.ctx.now();
      stmt(
        this.ctx.db,
        'INSERT INTO plans (id, name, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
      ).run(id, name, 'draft', now, now);
      steps.forEach((step, position) => {
        stmt(
          this.ctx.db,
          'INSERT INTO plan_steps (plan_id, position, vv_uuid, to_json) VALUES (?, ?, ?, ?)',
        ).run(id, position, step.vvUuid, JSON.stringify(step.to));
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
      steps: steps.map((s) => ({
        position: s.position,
        vvUuid: s.vv_uuid,
        to: parseJsonColumn<PlanStepTarget>(s.to_json, { appliance: '', pool: '' }),
        status: s.status,
        moveId: s.move_id,
        error: s.error,
      })),
    };
  }

  require(id: string): Plan {
    const plan = this.get(id);
    if (!plan) throw new FerryError('ERR_NOT_FOUND', `no plan ${JSON.stringify(id)}`);
    return plan;
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

  remove(id: string): void {
    this.ctx.db.transaction(() => {
      this.require(id);
      stmt(this.ctx.db, 'DELETE FROM plans WHERE id = ?').run(id);
      this.ctx.audit('plan.remove', id, {});
    })();
  }
}
