// The words of a move shared by the engine, its journal and (later) the control RPC: phases,
// progress events and the checkpoint a restarted agent resumes from.

import type { SerializedDirtyMap } from './dirty-map.js';

export const MOVE_PHASES = [
  'copying',
  'degraded',
  'verifying',
  'cutover',
  'done',
  'aborted',
  'failed',
] as const;
export type MovePhase = (typeof MOVE_PHASES)[number];

export const TERMINAL_PHASES: ReadonlySet<MovePhase> = new Set(['done', 'aborted', 'failed']);

export function isTerminalPhase(phase: MovePhase): boolean {
  return TERMINAL_PHASES.has(phase);
}

/** One progress event (at most 4 per second per move). */
export interface MoveProgress {
  id: string;
  vv: string;
  phase: MovePhase;
  /** Copy traffic is paused (the mirror stays on). */
  paused: boolean;
  /** The copy is held to its busy-hosts cap right now: hosts are doing I/O on the volume. */
  hostsFirst: boolean;
  copiedBytes: number;
  totalBytes: number;
  /** Verify pass: bytes compared so far (0 without --verify). */
  verifiedBytes: number;
  bytesPerSecond: number;
  /** null while the rate is unknown or zero. */
  etaSeconds: number | null;
  mirroredWrites: number;
  dirtyBytes: number;
  /** Verify pass: chunks that differed and were copied again. */
  mismatches: number;
  cutoverPauseMs: number | null;
  error?: string;
}

/** What the engine persists at least every second; enough to resume after a crash. */
export interface MoveCheckpoint {
  phase: MovePhase;
  paused: boolean;
  /** Every chunk below this byte offset is on the target, except the dirty regions. */
  cursor: number;
  /** Regions to copy again: dirty, written but not flushed, or with writes in flight. */
  dirty: SerializedDirtyMap;
  /** Verify pass: chunks below this offset were compared. */
  verifyCursor: number;
  verified: boolean;
  mirroredWrites: number;
  mismatches: number;
  cutoverPauseMs: number | null;
  error: string | null;
}

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
export const DEFAULT_PARALLEL_CHUNKS = 4;
export { DEFAULT_BUSY_THROTTLE } from '../../shared/rpc/moves.js';
export const MIN_CHUNK_SIZE = 64 * 1024;
export const MAX_CHUNK_SIZE = 64 * 1024 * 1024;
