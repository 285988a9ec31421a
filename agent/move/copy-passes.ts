// The three passes of a move over its chunks, each run by `parallel` workers: the copy (cursor walk),
// the catch-up (dirty regions copied again) and the verify (compare, copy again what differs).
// Every chunk is handled under its exclusive chunk lock, taken after the throttle so that waiting for
// copy bandwidth never delays a host write. A pass returns early when the target goes down (the
// engine then recovers it) and throws when the source fails or the move is stopped.

import type { BlockBackend } from '../backend/block-backend.js';
import { type CopyTarget, copyInPieces } from './chunk-copier.js';
import type { CopyFrontier } from './copy-frontier.js';
import type { DirtyMap } from './dirty-map.js';
import type { ChunkLocks } from './range-lock.js';
import type { TargetLink } from './target-link.js';
import type { CopyThrottle } from './throttle.js';
import type { WriteIntentLog } from './write-intent.js';

export interface PassContext {
  source: BlockBackend;
  link: TargetLink;
  target: CopyTarget;
  locks: ChunkLocks;
  frontier: CopyFrontier;
  verifyFrontier: CopyFrontier;
  dirty: DirtyMap;
  intent: WriteIntentLog;
  throttle: CopyThrottle;
  parallel: number;
  chunkSize: number;
  signal: AbortSignal;
  targetReadsZero: boolean;
  sourceExtents: boolean;
  /** Bytes per request of the chunk about to be copied (smaller while hosts use the volume). */
  pieceBytes(): number;
  /** Waits while paused; throws when the move is stopped. */
  gate(): Promise<void>;
  /** Paused right now (checked again after a throttle wait, so a pause takes effect at once). */
  paused(): boolean;
  stopping(): boolean;
  onProgress(): void;
  onMismatch(offset: number): void;
}

/** Walks the chunks not yet copied, in order, `parallel` at a time. */
export function copyPass(ctx: PassContext): Promise<void> {
  return runWorkers(ctx, async (buffer) => {
    const chunk = ctx.frontier.claimNext();
    if (chunk === undefined) return false;
    const offset = chunk * ctx.chunkSize;
    const length = ctx.frontier.chunkLength(chunk);
    try {
      await ctx.throttle.take(length, ctx.signal);
      if (ctx.paused()) {
        // Paused while waiting for bandwidth: give the chunk back and wait at the gate.
        ctx.throttle.refund(length);
        ctx.frontier.unclaim(chunk);
        return true;
      }
      const release = await ctx.locks.lockExclusive(chunk);
      try {
        const sent = await copyInPieces(ctx.source, ctx.target, offset, length, buffer, {
          targetReadsZero: ctx.targetReadsZero,
          sourceExtents: ctx.sourceExtents,
          pieceBytes: ctx.pieceBytes(),
        });
        ctx.throttle.refund(length - sent);
        ctx.frontier.markCopied(chunk);
      } finally {
        release();
      }
    } catch (err) {
      ctx.frontier.unclaim(chunk);
      throw err;
    }
    return true;
  });
}

/** Copies the dirty regions again, chunk by chunk; a region stays dirty if its copy fails. */
export function catchUpPass(ctx: PassContext): Promise<void> {
  const chunks = dirtyChunks(ctx.dirty, ctx.chunkSize);
  let next = 0;
  return runWorkers(ctx, async (buffer) => {
    if (next >= chunks.length) return false;
    const chunk = chunks[next++];
    const offset = chunk * ctx.chunkSize;
    const length = ctx.frontier.chunkLength(chunk);
    const estimate = ctx.dirty.runs(offset, length).reduce((sum, r) => sum + r.length, 0);
    if (estimate === 0) return true;
    await ctx.throttle.take(estimate, ctx.signal);
    const release = await ctx.locks.lockExclusive(chunk);
    try {
      const runs = ctx.dirty.runs(offset, length); // again: it may have changed while we waited
      if (runs.length === 0) return true;
      const end = await ctx.intent.begin(runs, false);
      try {
        // Clear first: a region the target loses while we copy is marked again and not forgotten.
        for (const r of runs) ctx.dirty.clear(r.offset, r.length);
        let sent = 0;
        try {
          for (const r of runs) {
            sent += await copyInPieces(ctx.source, ctx.target, r.offset, r.length, buffer, {
              targetReadsZero: false,
              sourceExtents: ctx.sourceExtents,
              pieceBytes: ctx.pieceBytes(),
            });
          }
        } catch (err) {
          for (const r of runs) ctx.dirty.mark(r.offset, r.length);
          throw err;
        }
        ctx.throttle.refund(estimate - sent);
      } finally {
        end();
      }
    } finally {
      release();
    }
    return true;
  });
}

/** Compares every chunk of source and target; a chunk that differs is copied again. */
export function verifyPass(ctx: PassContext): Promise<void> {
  return runWorkers(
    ctx,
    async (buffer, second) => {
      const chunk = ctx.verifyFrontier.claimNext();
      if (chunk === undefined) return false;
      const offset = chunk * ctx.chunkSize;
      const length = ctx.verifyFrontier.chunkLength(chunk);
      const fromSource = buffer.subarray(0, length);
      const fromTarget = second.subarray(0, length);
      try {
        await ctx.throttle.take(length, ctx.signal);
        const release = await ctx.locks.lockExclusive(chunk);
        try {
          await Promise.all([
            ctx.source.read(fromSource, offset),
            ctx.link.run((t) => t.read(fromTarget, offset)),
          ]);
          if (!fromSource.equals(fromTarget)) {
            const end = await ctx.intent.begin([{ offset, length }], false);
            try {
              await ctx.target.write(fromSource, offset);
            } finally {
              end();
            }
            ctx.onMismatch(offset);
          }
          ctx.verifyFrontier.markCopied(chunk);
        } finally {
          release();
        }
      } catch (err) {
        ctx.verifyFrontier.unclaim(chunk);
        throw err;
      }
      return true;
    },
    true,
  );
}

/**
 * Runs `parallel` workers, each calling `step` until it returns false, the target goes down or the
 * move stops. Resolves when all have ended; rejects with the first real failure (not a target one).
 */
async function runWorkers(
  ctx: PassContext,
  step: (buffer: Buffer, second: Buffer) => Promise<boolean>,
  twoBuffers = false,
): Promise<void> {
  let failure: unknown = null;
  const worker = async () => {
    // Shared memory: a target whose connection runs in a worker thread sends from it without a copy.
    const buffer = Buffer.from(new SharedArrayBuffer(ctx.chunkSize));
    const second = twoBuffers ? Buffer.from(new SharedArrayBuffer(ctx.chunkSize)) : buffer;
    while (failure === null) {
      await ctx.gate();
      if (!ctx.link.healthy) return;
      try {
        if (!(await step(buffer, second))) return;
      } catch (err) {
        // A target failure took the link down: the engine recovers it. Anything else ends the pass.
        if (!ctx.link.healthy && !ctx.stopping()) return;
        failure ??= err;
        return;
      }
      ctx.onProgress();
    }
  };
  const results = await Promise.allSettled(Array.from({ length: ctx.parallel }, worker));
  if (failure !== null) throw failure;
  const rejected = results.find((r) => r.status === 'rejected');
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
}

/** Chunk indexes that hold at least one dirty region, ascending. */
function dirtyChunks(dirty: DirtyMap, chunkSize: number): number[] {
  const chunks: number[] = [];
  for (const run of dirty.runs()) {
    const first = Math.floor(run.offset / chunkSize);
    const last = Math.floor((run.offset + run.length - 1) / chunkSize);
    for (let c = Math.max(first, (chunks[chunks.length - 1] ?? -1) + 1); c <= last; c++) chunks.push(c);
  }
  return chunks;
}
