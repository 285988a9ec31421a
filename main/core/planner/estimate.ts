// How long a move should take: the bytes it copies (allocated, or the size when unknown) at the rate
// earlier moves measured between the same two appliances, capped by the throttle. With no
// measurement the rate is a conservative guess, and the estimate says so.
import type { Estimate } from '../../../shared/bridge/fields.js';
import { formatSizeApprox } from '../../../shared/names.js';
import type { Store } from '../store/store.js';

/** 100 MB/s: below what a 1 GbE link copies, so a guess errs on the long side. */
export const GUESS_RATE_BPS = 100_000_000;

/** Measured bytes per second from one appliance to another, or undefined when never measured. */
export type LinkRate = (fromAppliance: string, toAppliance: string) => number | undefined;

export interface CopyJob {
  from: { appliance: string };
  to: { appliance: string };
  sizeBytes: number;
  allocatedBytes: number | null;
}

export function copyBytes(job: Pick<CopyJob, 'sizeBytes' | 'allocatedBytes'>): number {
  return job.allocatedBytes ?? job.sizeBytes;
}

export function estimateCopy(
  bytes: number,
  measuredBps: number | undefined,
  throttleBps: number | null,
): Estimate {
  const measured = measuredBps !== undefined && Number.isFinite(measuredBps) && measuredBps > 0;
  const link = measured ? measuredBps : GUESS_RATE_BPS;
  const rate = throttleBps !== null && throttleBps > 0 ? Math.min(link, throttleBps) : link;
  return { seconds: roundSeconds(bytes / rate), basis: measured ? 'measured' : 'guess', rateBps: rate };
}

export function estimateJob(job: CopyJob, linkRate: LinkRate, throttleBps: number | null): Estimate {
  return estimateCopy(copyBytes(job), linkRate(job.from.appliance, job.to.appliance), throttleBps);
}

/** The whole plan: its simulated duration, measured only when every step's estimate is. */
export function planEstimate(
  steps: readonly { bytes: number; estimate: Estimate }[],
  seconds: number,
): Estimate {
  const bytes = steps.reduce((sum, s) => sum + s.bytes, 0);
  return {
    seconds: roundSeconds(seconds),
    basis: steps.every((s) => s.estimate.basis === 'measured') ? 'measured' : 'guess',
    rateBps: seconds > 0 ? Math.round(bytes / seconds) : null,
  };
}

/** One warning naming the links no move has measured yet, or null when all were measured. */
export function guessWarning(jobs: readonly CopyJob[], linkRate: LinkRate): string | null {
  const links = new Set<string>();
  for (const job of jobs)
    if (linkRate(job.from.appliance, job.to.appliance) === undefined)
      links.add(`${job.from.appliance} -> ${job.to.appliance}`);
  if (links.size === 0) return null;
  return (
    `no throughput measured yet for ${[...links].join(', ')}: those estimates are a guess at ` +
    `${formatSizeApprox(GUESS_RATE_BPS)}/s (a move on the link, or ferry appliance probe A B, measures it)`
  );
}

/** Rates from the store's link_throughput table (the median of the recent moves). */
export function storeLinkRate(store: Store): LinkRate {
  const ids = new Map(store.appliances.list().map((a) => [a.name, a.id]));
  const cache = new Map<string, number | undefined>();
  return (from, to) => {
    const key = `${from}\n${to}`;
    if (!cache.has(key)) {
      const fromId = ids.get(from);
      const toId = ids.get(to);
      cache.set(
        key,
        fromId === undefined || toId === undefined ? undefined : store.throughput.estimate(fromId, toId),
      );
    }
    return cache.get(key);
  };
}

function roundSeconds(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
