// Whether hosts are using the volume right now. A move's copy yields to them: while they do I/O it
// runs at most at the busy rate (as md's resync drops to sync_speed_min under array I/O). Measured
// (npm run bench:copy): an unlimited copy on 2 cores took host 4 KiB write p99 from ~0.12 ms to
// 17 ms, because the copy's TLS and I/O take the CPUs that host requests, and the target agent that
// mirrored writes wait for, need.

/** Host I/O within this window counts as "hosts are busy". */
export const HOST_BUSY_WINDOW_MS = 250;
/** A move that does not know when hosts last used the volume counts as busy this long at its start. */
export const HOST_START_WATCH_MS = 50;

export class HostActivity {
  private last: number;

  /**
   * `lastSeen`: when hosts last did I/O on the volume before the move (the vv knows), so that a move
   * starts busy exactly when hosts are busy. Starting quiet under host I/O let the first chunks go out
   * at full speed (fio p99 4.2-4.6x the idle figure instead of 3.1-3.3x). Without it, the first
   * HOST_START_WATCH_MS count as busy, which cost a move of an idle volume ~70 ms at the busy rate.
   */
  constructor(
    private readonly windowMs = HOST_BUSY_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
    lastSeen: number = now() - windowMs + HOST_START_WATCH_MS,
  ) {
    this.last = lastSeen;
  }

  /** A host request arrived. */
  note(): void {
    this.last = this.now();
  }

  get busy(): boolean {
    return this.now() - this.last < this.windowMs;
  }
}
