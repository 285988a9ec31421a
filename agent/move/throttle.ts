// Token bucket for a move's copy traffic (copy, catch-up and verify), never for mirrored host writes.
// A taker may overdraw the bucket (one chunk is larger than a quarter second at low rates); the next
// taker then waits until the debt is paid, so the average rate holds. Takers are served in order.
// A second, lower cap applies while hosts are busy on the volume (see host-activity.ts): the rate in
// force is the lower of the two, looked at again at least every WAIT_SLICE_MS while a taker waits.

import { sleep } from './sleep.js';

/** Rate in bytes per second; null or 0 means unlimited. */
export type CopyRate = number | null;

/** A waiting taker looks at the rate in force again this often (hosts may have gone quiet). */
const WAIT_SLICE_MS = 100;

export class CopyThrottle {
  private rate: number | null = null;
  private busyRate: number | null = null;
  private tokens = 0;
  private lastRefill: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    rate: CopyRate,
    private readonly now: () => number = () => performance.now(),
    private readonly hostsBusy: () => boolean = () => false,
    busyRate: CopyRate = null,
  ) {
    this.lastRefill = now();
    this.setRate(rate);
    this.setBusyRate(busyRate);
  }

  get bytesPerSecond(): number | null {
    return this.rate;
  }

  setRate(rate: CopyRate): void {
    checkRate(rate);
    this.refill();
    this.rate = rate === 0 ? null : rate;
    this.capTokens();
  }

  /** The cap while hosts are busy (null or 0: none). */
  setBusyRate(rate: CopyRate): void {
    checkRate(rate);
    this.refill();
    this.busyRate = rate === 0 ? null : rate;
    this.capTokens();
  }

  /** The busy-hosts cap is what limits the copy right now. */
  limitedByHosts(): boolean {
    return this.busyRate !== null && this.hostsBusy() && (this.rate === null || this.busyRate < this.rate);
  }

  /** The rate in force now: the lower of the limit and, while hosts are busy, the busy cap. */
  currentRate(): number | null {
    if (this.busyRate === null || !this.hostsBusy()) return this.rate;
    return this.rate === null ? this.busyRate : Math.min(this.rate, this.busyRate);
  }

  /** Waits until `bytes` may be sent. Rejects with the signal's reason when aborted. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.waitFor(bytes, signal));
    this.queue = turn.catch(() => {});
    return turn;
  }

  /** Gives back what a taker reserved but did not send (a chunk that turned out to be zeroes). */
  refund(bytes: number): void {
    if (this.currentRate() === null || bytes <= 0) return;
    this.refill();
    this.tokens += bytes;
    this.capTokens();
  }

  private async waitFor(bytes: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.refill();
    for (let rate = this.currentRate(); rate !== null && this.tokens < 0; rate = this.currentRate()) {
      await sleep(Math.min(Math.ceil((-this.tokens / rate) * 1000), WAIT_SLICE_MS), signal);
      this.refill();
    }
    // Unlimited now: a debt from a limited spell is forgiven rather than paid later.
    if (this.currentRate() === null) this.tokens = Math.max(this.tokens, 0);
    else this.tokens -= bytes;
  }

  private refill(): void {
    const t = this.now();
    const rate = this.currentRate();
    if (rate !== null) {
      this.tokens = Math.min(this.tokens + ((t - this.lastRefill) / 1000) * rate, rate / 4);
    }
    this.lastRefill = t;
  }

  /** A quarter second of traffic may accumulate while idle. */
  private capTokens(): void {
    const rate = this.currentRate();
    if (rate !== null) this.tokens = Math.min(this.tokens, rate / 4);
  }
}

/** null, or a finite number of bytes per second >= 0 (0: unlimited). */
export function isCopyRate(rate: CopyRate): boolean {
  return rate === null || (Number.isFinite(rate) && rate >= 0);
}

function checkRate(rate: CopyRate): void {
  if (!isCopyRate(rate)) {
    throw new RangeError(`throttle rate must be a positive number of bytes per second, got ${rate}`);
  }
}
