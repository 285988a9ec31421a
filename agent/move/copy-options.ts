// The inputs of a copy engine and their validation: a bad option is refused before anything starts,
// with an error that says what was wrong.

import { FerryError } from '../../shared/errors.js';
import { formatSizeApprox } from '../../shared/names.js';
import type { BlockBackend } from '../backend/block-backend.js';
import type { Logger } from '../log.js';
import {
  DEFAULT_BUSY_THROTTLE,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_PARALLEL_CHUNKS,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  type MoveCheckpoint,
  type MoveProgress,
} from './move-types.js';
import type { TargetLane } from './target-link.js';
import { type CopyRate, isCopyRate } from './throttle.js';

/** Given by the engine to the cutover hook, which the volume layer implements. */
export interface CutoverStep {
  /** The backend the vv's mapping must point at after the switch. */
  target: BlockBackend;
  /**
   * Call after holding new requests and draining those in flight: flushes the target and checks that
   * nothing is dirty. false means "catch up first": release without switching.
   */
  prepareSwitch(): Promise<boolean>;
}

export interface CutoverResult {
  switched: boolean;
  /** How long host I/O was held, as the volume layer measured it. */
  pauseMs?: number;
}

/**
 * The volume layer's cutover: hold new requests, drain those in flight, call prepareSwitch(), and if
 * it says yes, switch the mapping to the target with epoch + 1 durably; release either way.
 */
export type CutoverHook = (step: CutoverStep) => Promise<CutoverResult>;

export interface CopyEngineOptions {
  id: string;
  vv: string;
  source: BlockBackend;
  /** null: the target cannot be reached now (an agent resuming): the move starts degraded and reopens it. */
  target: BlockBackend | null;
  /** Bytes per chunk (default 4 MiB); a multiple of 64 KiB between 64 KiB and 64 MiB. */
  chunkSize?: number;
  /** Chunks copied at the same time (default 4). */
  parallel?: number;
  /** Copy traffic limit in bytes per second; null or 0 for none. */
  throttle?: CopyRate;
  /** The copy's limit while hosts do I/O on the volume (default DEFAULT_BUSY_THROTTLE); null or 0 for none. */
  busyThrottle?: CopyRate;
  /** Compare every chunk after the copy and copy again what differs. */
  verify?: boolean;
  /** The target reads as zeroes (a new sparse LV): zero regions need no request on the first pass. */
  targetReadsZero?: boolean;
  /**
   * Ask the source for its extents to skip zero regions without reading them (default true). Off for
   * a local file LV, whose extents are found by reading the data: the copy would read it twice.
   */
  sourceExtents?: boolean;
  /**
   * Open a second target connection (with reopenTarget) for mirrored host writes, so they never
   * wait behind copy data on the same connection (default false; worth it for a remote target).
   */
  mirrorLane?: boolean;
  /**
   * When hosts last did I/O on the volume (performance.now() time, -Infinity for never): the copy
   * starts at the busy rate only if that was within the busy window. Omitted: the first 50 ms count
   * as busy.
   */
  hostsLastSeenAt?: number;
  /** Resume from this checkpoint (read from the move's journal). */
  checkpoint?: MoveCheckpoint;
  /** Writes the checkpoint durably (the journal); called at least every second while running. */
  persist(checkpoint: MoveCheckpoint): Promise<void>;
  /** Opens the target again after a failure; called with backoff until it succeeds. */
  reopenTarget(lane: TargetLane): Promise<BlockBackend>;
  cutover: CutoverHook;
  publish?(progress: MoveProgress): void;
  logger?: Logger;
  checkpointIntervalMs?: number;
  /** Minimum time between progress events (default 250 ms: 4 per second). */
  progressIntervalMs?: number;
  /** How often the target is flushed while copying, so a checkpoint's unflushed regions stay few. */
  targetFlushIntervalMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export interface ResolvedCopyOptions extends CopyEngineOptions {
  chunkSize: number;
  parallel: number;
  throttle: CopyRate;
  busyThrottle: CopyRate;
  verify: boolean;
  targetReadsZero: boolean;
  sourceExtents: boolean;
  mirrorLane: boolean;
  checkpointIntervalMs: number;
  progressIntervalMs: number;
  targetFlushIntervalMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export function resolveCopyOptions(opts: CopyEngineOptions): ResolvedCopyOptions {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (
    !Number.isSafeInteger(chunkSize) ||
    chunkSize < MIN_CHUNK_SIZE ||
    chunkSize > MAX_CHUNK_SIZE ||
    chunkSize % MIN_CHUNK_SIZE !== 0
  ) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `chunk size ${chunkSize} is not allowed: use a multiple of 64K between 64K and 64M (e.g. 4M)`,
    );
  }
  const parallel = opts.parallel ?? DEFAULT_PARALLEL_CHUNKS;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 32) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `parallel chunks ${parallel} is not allowed: use 1 to 32`);
  }
  const throttle = checkedRate('throttle', opts.throttle ?? null);
  const busyThrottle = checkedRate(
    'busy throttle',
    opts.busyThrottle === undefined ? DEFAULT_BUSY_THROTTLE : opts.busyThrottle,
  );
  if (!opts.id || !opts.vv)
    throw new FerryError('ERR_INVALID_ARGUMENT', 'a move needs an id and a volume name');
  const sourceSize = opts.source.size();
  const targetSize = opts.target?.size() ?? Number.POSITIVE_INFINITY;
  if (targetSize < sourceSize) {
    throw new FerryError(
      'ERR_TARGET_TOO_SMALL',
      `target is ${formatSizeApprox(targetSize)} (${targetSize} bytes) but volume ${opts.vv} is ${formatSizeApprox(sourceSize)} (${sourceSize} bytes): use a target at least as large`,
      { targetSize, sourceSize },
    );
  }
  if (opts.target?.capabilities().readOnly) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `the target of volume ${opts.vv} is read-only`);
  }
  return {
    ...opts,
    chunkSize,
    parallel,
    throttle,
    busyThrottle,
    verify: opts.verify ?? false,
    targetReadsZero: opts.targetReadsZero ?? false,
    sourceExtents: opts.sourceExtents ?? true,
    mirrorLane: opts.mirrorLane ?? false,
    checkpointIntervalMs: opts.checkpointIntervalMs ?? 1000,
    progressIntervalMs: opts.progressIntervalMs ?? 250,
    targetFlushIntervalMs: opts.targetFlushIntervalMs ?? 1000,
    retryInitialMs: opts.retryInitialMs ?? 500,
    retryMaxMs: opts.retryMaxMs ?? 5_000,
  };
}

function checkedRate(what: string, rate: CopyRate): CopyRate {
  if (!isCopyRate(rate)) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `${what} ${rate} is not a rate: use bytes per second >= 0`);
  }
  return rate;
}
