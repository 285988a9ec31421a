// Whether hosts are using the volume right now. A move's copy yields to them: while they do I/O it
// runs at most at the busy rate (as md's resync drops to sync_speed_min under array I/O). Measured
// (npm run bench:copy): an unlimited copy on 2 cores took host 4 KiB write p99 from ~0.12 ms to
// 17 ms, because the copy's TLS and I/O take the CPUs that host requests, and the target agent that
// mirrored writes wait for, need.

/** Host I/O within this window counts as "hosts are busy". */
export const HOST_BUSY_WINDOW_MS = 250;
/** A new move counts as busy this long, until it has seen whether hosts use the volume. */
export const HOST_START_WATCH_MS = 50;

export class HostActivity {
  private last: number;

  /**
   * Busy for the first HOST_START_WATCH_MS only. Starting quiet let the first chunks of a move under
   * host I/O go out at full speed (fio p99 4.2-4.6x the idle figure instead of 3.1-3.3x); a whole
   * window busy cost a move of an idle volume 0.25 s at the busy rate.
   */
  constructor(
    private readonly windowMs = HOST_BUSY_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
    startWatchMs = HOST_START_WATCH_MS,
  ) {
    this.last = now() - windowMs + startWatchMs;
  }

  /** A host request arrived. */
  note(): void {
    this.last = this.now();
  }

  get busy(): boolean {
    return this.now() - this.last < this.windowMs;
  }
}
