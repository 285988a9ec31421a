// What the plan runner needs to move one volume: start a move and follow it to its end. The console
// core provides it (startMove/waitForMove); tests inject their own. Kept to two calls so the runner
// does not depend on how moves are orchestrated.
import type { ErrorInfo, PoolRef } from '../../../shared/bridge/fields.js';
import type { Move } from '../../../shared/bridge/model.js';

export type MoveOutcome = 'done' | 'failed' | 'aborted';

export interface MoveRequest {
  volume: string;
  to: PoolRef;
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

interface MovingCore {
  startMove(params: MoveRequest): Promise<{ id: string }>;
  waitForMove(id: string, onProgress: (move: Move) => void): Promise<unknown>;
}

/** The console core's moves as a MoveRunner, or null while the core cannot start moves. */
export function moveRunnerOf(core: object): MoveRunner | null {
  const c = core as Partial<MovingCore>;
  const { startMove, waitForMove } = c;
  if (typeof startMove !== 'function' || typeof waitForMove !== 'function') return null;
  return {
    async start(request) {
      return (await startMove.call(core, request)).id;
    },
    async wait(moveId, onProgress) {
      return moveEndOf(await waitForMove.call(core, moveId, onProgress));
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
