// Writes a move's checkpoint durably: on a timer (at least every second while the move runs) and on
// demand (a new write-intent or dirty mark must be on disk before a host write is acknowledged).
// Requests are coalesced: while one write is on its way, every caller that arrives joins the next
// one, which takes a fresh snapshot, so a burst of marks costs two writes, not one per mark.

export class Checkpointer<T> {
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;

  constructor(
    /** The state to persist, taken just before each write. */
    private readonly snapshot: () => T,
    private readonly persist: (checkpoint: T) => Promise<void>,
    /** Runs before each timed write (flush the target, sweep the write-intent log); errors are its own. */
    private readonly beforeTick: () => Promise<void>,
    private readonly intervalMs = 1000,
  ) {}

  /** Resolves once a snapshot taken after this call is durable. */
  persistNow(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.inFlight) {
      this.inFlight = this.writeOnce();
      return this.inFlight;
    }
    this.queued = this.inFlight
      .catch(() => {})
      .then(() => {
        this.queued = null;
        this.inFlight = this.writeOnce();
        return this.inFlight;
      });
    return this.queued;
  }

  /** Starts the timer; a tick that fails is reported through onError and the timer goes on. */
  start(onError: (err: unknown) => void): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.ticking) return; // a slow disk: skip a beat rather than pile up
      this.ticking = this.tick()
        .catch(onError)
        .finally(() => {
          this.ticking = null;
        });
    }, this.intervalMs);
  }

  /** Stops the timer and waits for a tick under way. Idempotent. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
  }

  async tick(): Promise<void> {
    await this.beforeTick();
    await this.persistNow();
  }

  private async writeOnce(): Promise<void> {
    try {
      await this.persist(this.snapshot());
    } finally {
      this.inFlight = null;
    }
  }
}
