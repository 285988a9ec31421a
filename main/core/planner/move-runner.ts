// What the plan runner needs to move one volume: start a move and follow it to its end. The console
// core provides it (startMove/waitForMove); tests inject their own. Kept to two calls so the runner
// does not depend on how moves are orchestrated.
import type { ErrorInfo, PoolRef } from '../../../shared/bridge/fields.js';
import type { Move } from '../../../shared/bridge/model.js';
import type { MoveOrchestrator } from '../console/move-orchestrator.js';

export type MoveOutcome = 'done' | 'failed' | 'aborted';

export interface MoveRequest {
  volume: string;
  to: PoolRef;
  /** Reserve (and preflight) the allocated bytes rather than the full size. */
  thin: boolean;
  throttleBps: number | null;
  verify: boolean;
  keepSource: boolean;
}

export interface MoveEnd {
  outcome: MoveOutcome;
  error: ErrorInfo | null;
}

export interface MoveRunner {
  /** Starts the move; resolves with its id once the move is under way. */
  start(request: MoveRequest): Promise<string>;
  /** Follows a move (started now or by an earlier run) until it ends. */
  wait(moveId: string, onProgress: (move: Move) => void): Promise<MoveOutcome | MoveEnd>;
}

/** The console core's orchestrated moves (ConsoleCore.moves) as a MoveRunner. */
export function consoleMoveRunner(moves: Pick<MoveOrchestrator, 'start' | 'follow'>): MoveRunner {
  return {
    async start(request) {
      return (await moves.start(request)).id;
    },
    async wait(moveId, onProgress) {
      return moveEndOf(await moves.follow(moveId, onProgress));
    },
  };
}

/** Accepts an outcome word, a MoveEnd, or a final Move (its phase and error). */
export function moveEndOf(value: unknown): MoveEnd {
  if (value === 'done' || value === 'failed' || value === 'aborted') return { outcome: value, error: null };
  if (value && typeof value === 'object') {
    const v = value as { outcome?: unknown; phase?: unknown; error?: ErrorInfo | null };
    const word = v.outcome ?? v.phase;
    if (word === 'done' || word === 'failed' || word === 'aborted')
      return { outcome: word, error: v.error ?? null };
  }
  return {
    outcome: 'failed',
    error: { code: 'ERR_INTERNAL', message: `the move ended without saying how (${JSON.stringify(value)})` },
  };
}
