// Moves as a journaled state machine: the current phase on the move row, and every transition
// appended to move_journal in the same transaction, so a console that crashed mid-move knows the last
// phase it reached and when. Terminal phases (done, failed, aborted) admit no further transition.
import { randomUUID } from 'node:crypto';
import { FerryError } from '../../../shared/errors.js';
import type { VolumeMapping } from './repo-volumes.js';
import { parseJsonColumn, type StoreContext, stmt } from './store-context.js';

export const MOVE_PHASES = [
  'created',
  'preflight',
  'preparing',
  'copying',
  'paused',
  'degraded',
  'verifying',
  'cutover',
  'committing',
  'done',
  'failed',
  'aborted',
] as const;
export type MovePhase = (typeof MOVE_PHASES)[number];
export const TERMINAL_MOVE_PHASES: readonly MovePhase[] = ['done', 'failed', 'aborted'];

export interface MoveOptions {
  throttleBytesPerSec?: number;
  /** The busy-hosts cap asked for (0: none); absent: the agent's default. */
  busyThrottleBytesPerSec?: number;
  verify?: boolean;
  keepSource?: boolean;
  [key: string]: unknown;
}

export interface MoveError {
  code: string;
  message: string;
}

export interface Move {
  id: string;
  vvUuid: string;
  from: VolumeMapping;
  to: VolumeMapping;
  phase: MovePhase;
  options: MoveOptions;
  agentMoveId: string | null;
  error: MoveError | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface MoveJournalEntry {
  at: string;
  phase: MovePhase;
  detail: Record<string, unknown>;
}

interface MoveRow {
  id: string;
  vv_uuid: string;
  from_json: string;
  to_json: string;
  phase: MovePhase;
  options_json: string;
  agent_move_id: string | null;
  error_json: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const EMPTY: VolumeMapping = { appliance: '', pool: '', lv: '' };

const toMove = (row: MoveRow): Move => ({
  id: row.id,
  vvUuid: row.vv_uuid,
  from: parseJsonColumn(row.from_json, EMPTY),
  to: parseJsonColumn(row.to_json, EMPTY),
  phase: row.phase,
  options: parseJsonColumn<MoveOptions>(row.options_json, {}),
  agentMoveId: row.agent_move_id,
  error: parseJsonColumn<MoveError | null>(row.error_json, null),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
});

export interface NewMove {
  id?: string;
  vvUuid: string;
  from: VolumeMapping;
  to: VolumeMapping;
  options?: MoveOptions;
}

export class MovesRepo {
  constructor(private readonly ctx: StoreContext) {}

  get(id: string): Move | undefined {
    const row = stmt(this.ctx.db, 'SELECT * FROM moves WHERE id = ?').get(id) as MoveRow | undefined;
    return row ? toMove(row) : undefined;
  }

  require(id: string): Move {
    const move = this.get(id);
    if (!move) throw new FerryError('ERR_NOT_FOUND', `no move ${JSON.stringify(id)}: see \`ferry moves\``);
    return move;
  }

  /** Newest first; `active` keeps only moves not in a terminal phase. */
  list(filter: { active?: boolean; vvUuid?: string } = {}): Move[] {
    const rows = stmt(
      this.ctx.db,
      `SELECT * FROM moves WHERE (@vv IS NULL OR vv_uuid = @vv)
         AND (@active = 0 OR phase NOT IN ('done', 'failed', 'aborted'))
         ORDER BY created_at DESC, rowid DESC`,
    ).all({ vv: filter.vvUuid ?? null, active: filter.active ? 1 : 0 }) as MoveRow[];
    return rows.map(toMove);
  }

  /** Records a new move in phase 'created'; refused while the same vv has an active move. */
  create(input: NewMove): Move {
    return this.ctx.db.transaction(() => {
      const busy = this.list({ active: true, vvUuid: input.vvUuid });
      if (busy.length > 0) {
        throw new FerryError(
          'ERR_VOLUME_BUSY',
          `volume ${input.vvUuid} is already moving (move ${busy[0].id}, phase ${busy[0].phase}): wait for it or abort it`,
          { moveId: busy[0].id },
        );
      }
      const id = input.id ?? randomUUID();
      const now = this.ctx.now();
      stmt(
        this.ctx.db,
        `INSERT INTO moves (id, vv_uuid, from_json, to_json, phase, options_json, created_at, updated_at)
           VALUES (?, ?, ?, ?, 'created', ?, ?, ?)`,
      ).run(
        id,
        input.vvUuid,
        JSON.stringify(input.from),
        JSON.stringify(input.to),
        JSON.stringify(input.options ?? {}),
        now,
        now,
      );
      this.journal(id, 'created', { from: input.from, to: input.to }, now);
      this.ctx.audit('move.create', id, {
        vvUuid: input.vvUuid,
        from: input.from,
        to: input.to,
        options: input.options ?? {},
      });
      return this.require(id);
    })();
  }

  /**
   * Moves to `phase`, journaled and audited. Setting the phase it already has is a no-op (so a
   * reconciling console can replay what an agent reports). Leaving a terminal phase is refused.
   */
  setPhase(id: string, phase: MovePhase, detail: Record<string, unknown> = {}, error?: MoveError): Move {
    if (!MOVE_PHASES.includes(phase)) {
      throw new FerryError('ERR_INVALID_ARGUMENT', `unknown move phase ${JSON.stringify(phase)}`);
    }
    return this.ctx.db.transaction(() => {
      const move = this.require(id);
      if (move.phase === phase) return move;
      if (TERMINAL_MOVE_PHASES.includes(move.phase)) {
        throw new FerryError('ERR_MOVE_STATE', `move ${id} is ${move.phase}; it cannot become ${phase}`, {
          phase: move.phase,
        });
      }
      const now = this.ctx.now();
      const startedAt = move.startedAt ?? (phase === 'copying' ? now : null);
      const finishedAt = TERMINAL_MOVE_PHASES.includes(phase) ? now : null;
      stmt(
        this.ctx.db,
        `UPDATE moves SET phase = ?, error_json = ?, updated_at = ?, started_at = ?, finished_at = ? WHERE id = ?`,
      ).run(
        phase,
        error ? JSON.stringify(error) : move.error ? JSON.stringify(move.error) : null,
        now,
        startedAt,
        finishedAt,
        id,
      );
      this.journal(id, phase, error ? { ...detail, error } : detail, now);
      this.ctx.audit('move.phase', id, { from: move.phase, to: phase, ...(error ? { error } : {}) });
      return this.require(id);
    })();
  }

  /** Shorthand for setPhase(id, 'failed', {}, error). */
  fail(id: string, error: MoveError): Move {
    return this.setPhase(id, 'failed', {}, error);
  }

  /** The agent's own id for the move, once it has started there. */
  setAgentMoveId(id: string, agentMoveId: string): Move {
    stmt(this.ctx.db, 'UPDATE moves SET agent_move_id = ?, updated_at = ? WHERE id = ?').run(
      agentMoveId,
      this.ctx.now(),
      id,
    );
    return this.require(id);
  }

  /** Every transition, oldest first. */
  journalOf(id: string): MoveJournalEntry[] {
    const rows = stmt(
      this.ctx.db,
      'SELECT at, phase, detail_json FROM move_journal WHERE move_id = ? ORDER BY id',
    ).all(id) as { at: string; phase: MovePhase; detail_json: string }[];
    return rows.map((r) => ({ at: r.at, phase: r.phase, detail: parseJsonColumn(r.detail_json, {}) }));
  }

  private journal(id: string, phase: MovePhase, detail: Record<string, unknown>, at: string): void {
    stmt(this.ctx.db, 'INSERT INTO move_journal (move_id, at, phase, detail_json) VALUES (?, ?, ?, ?)').run(
      id,
      at,
      phase,
      JSON.stringify(detail),
    );
  }
}
