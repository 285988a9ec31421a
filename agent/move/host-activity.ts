// Whether hosts are using the volume right now. A move's copy yields to them: while they do I/O it
// runs at most at the busy rate (as md's resync drops to sync_speed_min under array I/O). Measured
// (npm run bench:copy): an unlimited copy on 2 cores took host 4 KiB write p99 from ~0.12 ms to
// 17 ms, because the copy's TLS and I/O take the CPUs that host requests, and the target agent that
// mirrored writes wait for, need.

/** Host I/O within this window counts as "hosts are busy". */
export const HOST_BUSY_WINDOW_MS = 250;

export class HostActivity {
  private last: number;

  /**
   * Starts busy: a move begun while hosts use the volume must not burst at full speed before their
   * first request is seen; an idle volume costs one window at the busy rate.
   */
  constructor(
    private readonly windowMs = HOST_BUSY_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.last = now();
  }

  /** A host request arrived. */
  note(): void {
    this.last = this.now();
  }

  get busy(): boolean {
    return this.now() - this.last < this.windowMs;
  }
}
