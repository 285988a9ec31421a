// One move's live state: the latest progress from the core and the recent rate samples for its chart.
// Each tracker is its own reactive object, so 4 updates a second re-render only that move's card.

import type { Move } from '../../../shared/bridge/index.js';
import type { ExplainedError } from '../ui/explain-error.js';

export interface RateSample {
  /** ms since epoch */
  at: number;
  rateBps: number;
}

/** Three minutes of samples at 4 per second. */
const MAX_SAMPLES = 720;

export const ENDED_PHASES: ReadonlySet<Move['phase']> = new Set(['done', 'failed', 'aborted']);

export class MoveTracker {
  move: Move;
  samples: RateSample[];
  /** An error from pause/resume/abort, shown on this card. */
  error = $state<ExplainedError | null>(null);
  busy = $state(false);
  ended: boolean;

  constructor(move: Move) {
    this.move = $state.raw(move);
    this.samples = $state.raw([{ at: Date.now(), rateBps: move.rateBps }]);
    this.ended = $derived(ENDED_PHASES.has(this.move.phase));
  }

  update(move: Move): void {
    this.move = move;
    if (!ENDED_PHASES.has(move.phase)) {
      const next = this.samples.length >= MAX_SAMPLES ? this.samples.slice(1) : this.samples.slice();
      next.push({ at: Date.now(), rateBps: move.rateBps });
      this.samples = next;
    }
  }
}
