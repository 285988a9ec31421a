// A FIFO async mutex: run(fn) starts fn once every earlier run has settled.

export class AsyncMutex {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    this.waiting++;
    const result = this.tail.then(fn);
    const settled = result.then(
      () => {},
      () => {},
    );
    this.tail = settled;
    settled.then(() => this.waiting--);
    return result;
  }

  /** True while a run is in progress or queued. */
  get busy(): boolean {
    return this.waiting > 0;
  }
}
