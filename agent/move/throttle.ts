// Token bucket for a move's copy traffic (copy, catch-up and verify), never for mirrored host writes.
// A taker may overdraw the bucket (one chunk is larger than a quarter second at low rates); the next
// taker then waits until the debt is paid, so the average rate holds. Takers are served in order.

import { sleep } from './sleep.js';

/** Rate in bytes per second; null or 0 means unlimited. */
export type CopyRate = number | null;

export class CopyThrottle {
  private rate: number | null = null;
  private tokens = 0;
  private lastRefill: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    rate: CopyRate,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastRefill = now();
    this.setRate(rate);
  }

  get bytesPerSecond(): number | null {
    return this.rate;
  }

  setRate(rate: CopyRate): void {
    if (rate !== null && (!Number.isFinite(rate) || rate < 0)) {
      throw new RangeError(`throttle rate must be a positive number of bytes per second, got ${rate}`);
    }
    this.refill();
    this.rate = rate === 0 ? null : rate;
    if (this.rate !== null) this.tokens = Math.min(this.tokens, this.capacity());
  }

  /** Waits until `bytes` may be sent. Rejects with the signal's reason when aborted. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.waitFor(bytes, signal));
    this.queue = turn.catch(() => {});
    return turn;
  }

  /** Gives back what a taker reserved but did not send (a chunk that turned out to be zeroes). */
  refund(bytes: number): void {
    if (this.rate === null || bytes <= 0) return;
    this.refill();
    this.tokens = Math.min(this.tokens + bytes, this.capacity());
  }

  private async waitFor(bytes: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.refill();
    while (this.rate !== null && this.tokens < 0) {
      await sleep(Math.ceil((-this.tokens / this.rate) * 1000), signal);
      this.refill();
    }
    if (this.rate !== null) this.tokens -= bytes;
  }

  private refill(): void {
    const t = this.now();
    if (this.rate !== null) {
      this.tokens = Math.min(this.tokens + ((t - this.lastRefill) / 1000) * this.rate, this.capacity());
    }
    this.lastRefill = t;
  }

  /** A quarter second of traffic may accumulate while idle. */
  private capacity(): number {
    return (this.rate ?? 0) / 4;
  }
}
