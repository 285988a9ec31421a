// What ended moves leave in the agent's state dir, and when it goes.
//
// - A move to a remote target keeps its PSK key as the secret movePskSecretName(id): the move's own
//   connections (copy, mirror, reconnects, a resume after a restart) use it. Once the move has ended
//   (done, aborted, failed) nothing reads it again: cutover stores the vv's own copy first
//   (VolumeManager.commitMapping writes psk.<vv> before the mapping becomes durable), and an aborted
//   or failed move never switched. So it is removed at once: a key kept for nothing is a key that can
//   leak. A move stopped by agent shutdown has not ended; it keeps its key to resume.
// - Ended journals are history: `ctl move list` shows them, and a console that crashed mid-move
//   reconciles later by asking `move status ID`. They are pruned at agent start and after each move
//   ends, by the policy below. A journal of a move that has not ended is never touched.
//
// Nothing here throws: retention must never fail a move or an agent start; failures are logged.

import type { Logger } from '../log.js';
import type { StateStore } from '../state/state-store.js';
import {
  MOVE_DOCUMENT_PREFIX,
  type MoveRecord,
  moveDocumentName,
  movePskSecretName,
} from './move-journal.js';
import { isTerminalPhase } from './move-types.js';

/**
 * Every ended journal younger than this is kept: a console that was closed (or crashed) over a long
 * weekend or a week off still finds the outcome of the moves it started when it reconnects.
 */
export const JOURNAL_KEEP_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * The most recent ended journals kept whatever their age: an agent that moves rarely still shows its
 * last moves in `move list`; 50 small JSON files are nothing on disk.
 */
export const JOURNAL_KEEP_COUNT = 50;

/** The state store calls retention makes (StateStore has them). Both must succeed on a missing name. */
export type RetentionStore = Pick<StateStore, 'list' | 'listSecrets' | 'remove' | 'removeSecret'>;

export interface MoveRetentionDeps {
  store: RetentionStore;
  log: Logger;
  /** Milliseconds since the epoch (tests pass a fake clock). */
  now?: () => number;
}

/**
 * The ids of the ended moves whose journals the policy no longer keeps: beyond the JOURNAL_KEEP_COUNT
 * most recently ended, and ended more than JOURNAL_KEEP_MS before `now`. Moves not ended, and records
 * whose end time cannot be read, are always kept.
 */
export function journalsToPrune(records: Iterable<Readonly<MoveRecord>>, now: number): string[] {
  const ended = [...records]
    .filter((r) => isTerminalPhase(r.checkpoint.phase))
    .map((r) => ({ id: r.id, endedAt: endTime(r) }))
    .sort((a, b) => b.endedAt - a.endedAt || a.id.localeCompare(b.id));
  return ended
    .slice(JOURNAL_KEEP_COUNT)
    .filter((m) => now - m.endedAt > JOURNAL_KEEP_MS)
    .map((m) => m.id);
}

/** When a move ended: finishedAt, or its last update for records written before finishedAt existed. */
function endTime(r: Readonly<MoveRecord>): number {
  const at = Date.parse(r.finishedAt ?? r.updatedAt);
  // An unreadable time sorts as the newest, so it is never pruned.
  return Number.isNaN(at) ? Number.POSITIVE_INFINITY : at;
}

export class MoveRetention {
  /** Prunes run one at a time (two moves may end together). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: MoveRetentionDeps) {}

  /**
   * At agent start, before any move can start: removes move PSK secrets no journal names (an agent
   * that died after writing a new move's key and before its journal). Never rejects.
   */
  async forgetOrphanSecrets(): Promise<void> {
    try {
      const journals = new Set(await this.deps.store.list(MOVE_DOCUMENT_PREFIX));
      for (const secret of await this.deps.store.listSecrets('move.')) {
        const id = /^move\.(.+)\.psk$/.exec(secret)?.[1];
        if (id === undefined || journals.has(moveDocumentName(id))) continue;
        await this.deps.store.removeSecret(secret);
        this.deps.log.info(`removed the PSK key of move ${id}, which never got a journal`);
      }
    } catch (err) {
      this.deps.log.warn(`looking for move keys without a journal: ${(err as Error).message}`);
    }
  }

  /**
   * Removes an ended move's PSK secret (only a move to a remote target has one). Idempotent; a
   * failure is logged as a warning. Resolves true when the secret is gone.
   */
  async forgetSecret(record: Readonly<MoveRecord>): Promise<boolean> {
    if (!isTerminalPhase(record.checkpoint.phase) || record.target.kind !== 'remote') return true;
    try {
      await this.deps.store.removeSecret(movePskSecretName(record.id));
      return true;
    } catch (err) {
      this.deps.log.warn(`move ${record.id}: its PSK key could not be removed: ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * Deletes the journals of ended moves the policy no longer keeps, each after its secret (so a
   * crash in between never leaves a secret without the journal that names it). Resolves with the
   * ids deleted; never rejects.
   */
  prune(journals: Iterable<{ readonly record: Readonly<MoveRecord> }>): Promise<string[]> {
    const records = [...journals].map((j) => j.record);
    const run = this.queue.then(() =>
      this.pruneNow(records).catch((err) => {
        this.deps.log.warn(`pruning ended moves: ${(err as Error).message}`);
        return [];
      }),
    );
    this.queue = run;
    return run;
  }

  private async pruneNow(records: Readonly<MoveRecord>[]): Promise<string[]> {
    const deleted: string[] = [];
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const id of journalsToPrune(records, (this.deps.now ?? Date.now)())) {
      const record = byId.get(id)!;
      if (!(await this.forgetSecret(record))) continue;
      try {
        await this.deps.store.remove(moveDocumentName(id));
        deleted.push(id);
      } catch (err) {
        this.deps.log.warn(`move ${id}: its ended journal could not be removed: ${(err as Error).message}`);
      }
    }
    if (deleted.length > 0) {
      this.deps.log.info(`pruned the journals of ${deleted.length} ended move(s): ${deleted.join(', ')}`);
    }
    return deleted;
  }
}
