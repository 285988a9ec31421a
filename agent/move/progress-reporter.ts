// Progress events of one move, at most one per interval (250 ms: 4 per second). Changes between two
// events are folded into the next one, which is sent when the interval has passed, so the last state
// (a phase change, the end) is never lost. Also measures the copy rate over a sliding window.

import type { MoveProgress } from './move-types.js';

const RATE_WINDOW_MS = 3000;

export class ProgressReporter {
  private lastSent = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private samples: Array<{ at: number; bytes: number }> = [];

  constructor(
    private readonly snapshot: () => MoveProgress,
    private readonly publish: (progress: MoveProgress) => void,
    private readonly minIntervalMs = 250,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Something changed: send now if the interval allows, else once it has passed. */
  changed(): void {
    if (this.timer) return;
    const wait = this.lastSent + this.minIntervalMs - this.now();
    if (wait <= 0) {
      this.send();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.send();
    }, wait);
  }

  /** Sends the final state (waiting out the interval if needed) and stops. */
  async finish(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const wait = this.lastSent + this.minIntervalMs - this.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    this.send();
  }

  /** Records work done (bytes copied or verified) and returns the rate over the window. */
  rate(workBytes: number): number {
    const at = this.now();
    this.samples.push({ at, bytes: workBytes });
    while (this.samples.length > 2 && at - this.samples[0].at > RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    const seconds = (at - first.at) / 1000;
    return seconds > 0.2 ? Math.max(0, (workBytes - first.bytes) / seconds) : 0;
  }

  /** Forgets the rate history (after a pause or a degraded spell the old rate means nothing). */
  resetRate(): void {
    this.samples = [];
  }

  private send(): void {
    this.lastSent = this.now();
    try {
      this.publish(this.snapshot());
    } catch {
      // A subscriber's failure must not stop the move.
    }
  }
}
