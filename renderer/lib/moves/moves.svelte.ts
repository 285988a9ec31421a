// Moves in progress and recently ended, fed by the 'move.progress' stream. The volume table never
// reads this service, so progress updates do not touch it; the inventory says which volume is moving.

import { SvelteMap } from 'svelte/reactivity';
import type { Move, MoveOptions, PoolRef } from '../../../shared/bridge/index.js';
import type { Backend } from '../backend/backend.js';
import { explainError } from '../ui/explain-error.js';
import type { NotificationsService } from '../ui/notifications.svelte.js';
import { ENDED_PHASES, MoveTracker } from './move-tracker.svelte.js';

export class MovesService {
  readonly trackers = new SvelteMap<string, MoveTracker>();
  /** Newest first: active moves, then ended ones the admin has not dismissed. */
  list = $derived(
    [...this.trackers.values()].sort((a, b) => {
      if (a.ended !== b.ended) return a.ended ? 1 : -1;
      return b.move.startedAt.localeCompare(a.move.startedAt);
    }),
  );
  activeCount = $derived([...this.trackers.values()].filter((t) => !t.ended).length);
  /**
   * Volumes with a move in progress. Replaced only when a move starts or ends, never on progress, so
   * the volume table can show "moving" without re-rendering at 4 updates a second.
   */
  movingVolumes = $state.raw<ReadonlySet<string>>(new Set());

  constructor(
    private readonly backend: Backend,
    private readonly notifications: NotificationsService,
  ) {}

  async load(): Promise<void> {
    try {
      const moves = await this.backend.call('move.list');
      for (const move of moves) {
        if (!this.trackers.has(move.id) && !ENDED_PHASES.has(move.phase)) this.progress(move);
      }
    } catch (err) {
      this.notifications.notify('error', `Could not list the moves: ${explainError(err).message}`);
    }
  }

  /** From the 'move.progress' stream. */
  progress(move: Move): void {
    const tracker = this.trackers.get(move.id);
    if (!tracker) {
      this.trackers.set(move.id, new MoveTracker(move));
    } else {
      const wasEnded = tracker.ended;
      tracker.update(move);
      if (!wasEnded && ENDED_PHASES.has(move.phase)) this.announceEnd(move);
    }
    this.#updateMovingVolumes(move);
  }

  #updateMovingVolumes(move: Move): void {
    const moving = !ENDED_PHASES.has(move.phase);
    if (moving === this.movingVolumes.has(move.volume)) return;
    const next = new Set<string>();
    for (const t of this.trackers.values()) if (!ENDED_PHASES.has(t.move.phase)) next.add(t.move.volume);
    this.movingVolumes = next;
  }

  /** Starts a move; throws the FerryError so the dialog that asked can show it. */
  async start(
    volume: string,
    to: PoolRef,
    options: MoveOptions & { busyThrottleBps?: number },
  ): Promise<Move> {
    const move = await this.backend.call('move.start', { volume, to, ...options });
    this.progress(move);
    return move;
  }

  async control(id: string, action: 'pause' | 'resume' | 'abort'): Promise<void> {
    const tracker = this.trackers.get(id);
    if (!tracker) return;
    tracker.busy = true;
    tracker.error = null;
    try {
      const move = await this.backend.call(`move.${action}`, { id });
      this.progress(move);
    } catch (err) {
      tracker.error = explainError(err);
    } finally {
      tracker.busy = false;
    }
  }

  dismiss(id: string): void {
    this.trackers.delete(id);
  }

  private announceEnd(move: Move): void {
    const where = `${move.to.appliance}/${move.to.pool}`;
    if (move.phase === 'done') this.notifications.notify('success', `${move.volume} now lives on ${where}.`);
    else if (move.phase === 'aborted')
      this.notifications.notify('warning', `Move of ${move.volume} aborted.`);
    else
      this.notifications.notify(
        'error',
        `Move of ${move.volume} failed: ${move.error?.message ?? 'see its card for details'}`,
      );
  }
}
