// Reopening a move's target after a failure: exponential backoff between tries, abortable, and a
// reopened target smaller than the volume is refused for good (it is not the LV the move started on).

import { FerryError } from '../../shared/errors.js';
import type { BlockBackend } from '../backend/block-backend.js';
import type { Logger } from '../log.js';
import { sleep } from './sleep.js';
import type { TargetLane, TargetLink } from './target-link.js';

export interface ReopenOptions {
  reopen(lane: TargetLane): Promise<BlockBackend>;
  minSize: number;
  initialDelayMs: number;
  maxDelayMs: number;
  signal: AbortSignal;
  log: Logger;
}

/** Tries reopen() until it gives a usable target. Rejects only when aborted or on a too-small target. */
export async function reopenWithBackoff(opts: ReopenOptions): Promise<BlockBackend> {
  let delay = opts.initialDelayMs;
  for (;;) {
    opts.signal.throwIfAborted();
    let next: BlockBackend;
    try {
      next = await abortable(opts.reopen('copy'), opts.signal);
    } catch (err) {
      opts.signal.throwIfAborted();
      opts.log.warn(
        `target still unreachable (${err instanceof Error ? err.message : String(err)}); next try in ${delay} ms`,
      );
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, opts.maxDelayMs);
      continue;
    }
    if (next.size() < opts.minSize) {
      await next.close().catch(() => {});
      throw new FerryError(
        'ERR_TARGET_TOO_SMALL',
        `the reopened target has ${next.size()} bytes but the volume needs ${opts.minSize}: is it still the same LV?`,
      );
    }
    return next;
  }
}

/**
 * Replaces a failed link's target: closes the dead connections (their requests settle, so none can
 * land after the catch-up copy), reopens with backoff, and adds a mirror lane if asked.
 */
export async function reconnectTarget(
  link: TargetLink,
  opts: ReopenOptions & { mirrorLane: boolean },
): Promise<void> {
  await link.closeAll();
  await link.drained();
  await link.replace(await reopenWithBackoff(opts));
  if (opts.mirrorLane) await openMirrorLane(link, opts.reopen, opts.log);
}

/** Best effort: without a second connection, mirrored writes share the copy's. */
export async function openMirrorLane(
  link: TargetLink,
  reopen: (lane: TargetLane) => Promise<BlockBackend>,
  log: Logger,
): Promise<void> {
  if (!link.healthy) return;
  try {
    link.setMirrorLane(await reopen('mirror'));
  } catch (err) {
    log.warn(
      `no second target connection for mirrored writes: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Settles with `work` unless the signal fires first; a target opened after the abort is closed. */
function abortable(work: Promise<BlockBackend>, signal: AbortSignal): Promise<BlockBackend> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      work.then((late) => late.close()).catch(() => {});
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
