// Whether hosts are using the volume right now. A move's copy yields to them: while they do I/O it
// runs at most at the busy rate (as md's resync drops to sync_speed_min under array I/O). Measured
// (npm run bench:copy): an unlimited copy on 2 cores took host 4 KiB write p99 from ~0.12 ms to
// 17 ms, because the copy's TLS and I/O take the CPUs that host requests, and the target agent that
// mirrored writes wait for, need.

/** Host I/O within this window counts as "hosts are busy". */
export const HOST_BUSY_WINDOW_MS = 250;

export class HostActivity {
  /**
   * Starts quiet: a move of an idle volume must not spend its first window at the busy rate (measured:
   * 0.25 s of every move). Under host I/O the first request flips it; only the chunks already in
   * flight then finish at full speed.
   */
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly windowMs = HOST_BUSY_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A host request arrived. */
  note(): void {
    this.last = this.now();
  }

  get busy(): boolean {
    return this.now() - this.last < this.windowMs;
  }
}
