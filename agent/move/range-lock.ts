// Chunk locks of a move: host writes take the chunks they touch shared (many at once); the copier, the
// dirty catch-up and the verify pass take one chunk exclusive while they read the source and write
// the target, so a host write that touches a chunk in flight waits for it, and a chunk is never copied
// while a host write to it is half done.
//
// Lock order: shared holders take their chunks in ascending order; an exclusive holder holds exactly
// one chunk and waits for nothing else while holding it. So no cycle can form.
// Fairness: FIFO per chunk, so a stream of host writes cannot starve the copier and vice versa.

export type Release = () => void;

interface Waiter {
  exclusive: boolean;
  grant: () => void;
}

interface ChunkState {
  readers: number;
  writer: boolean;
  queue: Waiter[];
}

export class ChunkLocks {
  /** Only chunks that are held or waited on have an entry, so memory follows activity. */
  private readonly chunks = new Map<number, ChunkState>();

  constructor(readonly chunkSize: number) {
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0)
      throw new RangeError(`bad chunk size ${chunkSize}`);
  }

  /** First and last chunk index a non-empty byte range touches. */
  chunkSpan(offset: number, length: number): [number, number] {
    const first = Math.floor(offset / this.chunkSize);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / this.chunkSize);
    return [first, last];
  }

  /** Takes every chunk of the range shared, in ascending order; resolves with one release for all. */
  async lockShared(offset: number, length: number): Promise<Release> {
    const [first, last] = this.chunkSpan(offset, length);
    const held: number[] = [];
    for (let c = first; c <= last; c++) {
      await this.acquire(c, false);
      held.push(c);
    }
    return once(() => {
      for (const c of held) this.release(c, false);
    });
  }

  async lockExclusive(chunk: number): Promise<Release> {
    await this.acquire(chunk, true);
    return once(() => this.release(chunk, true));
  }

  /** Number of chunks held or waited on (for tests and diagnostics). */
  get activeChunks(): number {
    return this.chunks.size;
  }

  private acquire(chunk: number, exclusive: boolean): Promise<void> | void {
    let state = this.chunks.get(chunk);
    if (!state) {
      state = { readers: 0, writer: false, queue: [] };
      this.chunks.set(chunk, state);
    }
    if (state.queue.length === 0 && canGrant(state, exclusive)) {
      take(state, exclusive);
      return;
    }
    const s = state;
    return new Promise<void>((resolve) => {
      s.queue.push({ exclusive, grant: resolve });
    });
  }

  private release(chunk: number, exclusive: boolean): void {
    const state = this.chunks.get(chunk);
    if (!state) return;
    if (exclusive) state.writer = false;
    else state.readers--;
    while (state.queue.length > 0 && canGrant(state, state.queue[0].exclusive)) {
      const next = state.queue.shift()!;
      take(state, next.exclusive);
      next.grant();
    }
    if (state.readers === 0 && !state.writer && state.queue.length === 0) this.chunks.delete(chunk);
  }
}

function canGrant(state: ChunkState, exclusive: boolean): boolean {
  return exclusive ? !state.writer && state.readers === 0 : !state.writer;
}

function take(state: ChunkState, exclusive: boolean): void {
  if (exclusive) state.writer = true;
  else state.readers++;
}

function once(fn: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/**
 * Orders overlapping mirrored writes: two host writes in flight to the same bytes could otherwise
 * land in one order on the source and in the other on the target. A write waits until no earlier
 * mirrored write overlapping it is in flight. Holders hold nothing else that waits, so no cycle.
 */
export class OverlapGate {
  private readonly inFlight = new Set<{ start: number; end: number; done: Promise<void> }>();

  async enter(offset: number, length: number): Promise<Release> {
    const start = offset;
    const end = offset + length;
    for (;;) {
      const blocking = [...this.inFlight].filter((r) => r.start < end && start < r.end);
      if (blocking.length === 0) break;
      await Promise.all(blocking.map((r) => r.done));
    }
    let finish!: () => void;
    const entry = { start, end, done: new Promise<void>((resolve) => (finish = resolve)) };
    this.inFlight.add(entry);
    return once(() => {
      this.inFlight.delete(entry);
      finish();
    });
  }

  get size(): number {
    return this.inFlight.size;
  }
}
