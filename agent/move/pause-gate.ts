// Pause for a move's copy traffic: workers wait at the gate between chunks while it is closed.
// wake() lets waiters run without opening it (an abort or a stop, which they then notice).

export class PauseGate {
  private closed = false;
  private opened: Promise<void> = Promise.resolve();
  private open: (() => void) | null = null;

  constructor(paused = false) {
    if (paused) this.pause();
  }

  get paused(): boolean {
    return this.closed;
  }

  /** Closes the gate; false if it was closed already. */
  pause(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.opened = new Promise((resolve) => (this.open = resolve));
    return true;
  }

  /** Opens the gate; false if it was open already. */
  resume(): boolean {
    if (!this.closed) return false;
    this.closed = false;
    this.wake();
    return true;
  }

  /** Releases everyone waiting now; they check why and may wait again. */
  wake(): void {
    const open = this.open;
    this.open = null;
    open?.();
    if (this.closed) this.opened = new Promise((resolve) => (this.open = resolve));
  }

  /** Resolves at once when open, else when opened or woken; `check` runs after each wake. */
  async pass(check: () => void): Promise<void> {
    check();
    while (this.closed) {
      await this.opened;
      check();
    }
  }
}
