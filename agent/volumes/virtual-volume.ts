// A virtual volume's I/O router: the BlockBackend the NBD server serves for a vv. Every request is
// forwarded to the vv's current chain (a local LV backend, a remote one, or a move's mirror stage in
// front of them), through a gate that a move's cutover closes:
//
//   await vv.hold();              // new requests wait; resolves once those in flight have finished
//   const old = vv.swapChain(b);  // only while held; returns the previous chain (not closed)
//   vv.release();                 // waiting requests go on, to the new chain
//
// hold() is exclusive: a second hold() waits for the first release(). Use withHold(fn) for the
// common case. The vv's size never changes (a swapped-in chain must be at least as large); its
// capabilities are those of the current chain. Hosts negotiated with the chain they first saw, so
// when a swapped-in chain lacks a feature the router falls back: trim and cache become no-ops, FUA
// becomes write + flush, WRITE_ZEROES becomes writes of zeroes.

import type {
  BackendCapabilities,
  BlockBackend,
  Extent,
  WriteOptions,
  ZeroOptions,
} from '../backend/block-backend.js';
import { BackendError } from '../backend/block-backend.js';

export class VirtualVolume implements BlockBackend {
  private current: BlockBackend;
  private inFlight = 0;
  private held = false;
  private closed = false;
  /** Requests waiting for release(). */
  private gateWaiters: Array<() => void> = [];
  /** hold() callers waiting for the current holder to release. */
  private holdQueue: Array<() => void> = [];
  private drained: (() => void) | undefined;
  private lastRequest = Number.NEGATIVE_INFINITY;

  constructor(
    readonly name: string,
    private readonly volumeSize: number,
    chain: BlockBackend,
  ) {
    assertLargeEnough(name, volumeSize, chain);
    this.current = chain;
  }

  /** The chain requests go to now. */
  get chain(): BlockBackend {
    return this.current;
  }

  get isHeld(): boolean {
    return this.held;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** When the last request arrived (performance.now() time); -Infinity before the first. */
  get lastRequestAt(): number {
    return this.lastRequest;
  }

  size(): number {
    return this.volumeSize;
  }

  capabilities(): BackendCapabilities {
    return this.current.capabilities();
  }

  read(into: Buffer, offset: number): Promise<void> {
    return this.forward((b) => b.read(into, offset));
  }

  write(data: Buffer, offset: number, opts?: WriteOptions): Promise<void> {
    return this.forward(async (b) => {
      if (!opts?.fua || b.capabilities().canFua) return b.write(data, offset, opts);
      await b.write(data, offset);
      await b.flush();
    });
  }

  flush(): Promise<void> {
    return this.forward((b) => b.flush());
  }

  trim(offset: number, length: number, opts?: WriteOptions): Promise<void> {
    // A trim is advisory: a chain that cannot trim (a swapped-in target) ignores it.
    return this.forward((b) => (b.capabilities().canTrim ? b.trim(offset, length, opts) : Promise.resolve()));
  }

  zero(offset: number, length: number, opts?: ZeroOptions): Promise<void> {
    return this.forward((b) =>
      b.capabilities().canZero ? b.zero(offset, length, opts) : writeZeroes(b, offset, length, opts),
    );
  }

  extents(offset: number, length: number): Promise<Extent[]> {
    return this.forward((b) => b.extents(offset, length));
  }

  cache(offset: number, length: number): Promise<void> {
    return this.forward((b) => (b.capabilities().canCache ? b.cache(offset, length) : Promise.resolve()));
  }

  /** Stops new requests and resolves when none is in flight. Exclusive until release(). */
  async hold(): Promise<void> {
    while (this.held) await new Promise<void>((resolve) => this.holdQueue.push(resolve));
    this.held = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
  }

  /** Replaces the chain; the caller owns (and closes, when it wants) the returned previous one. */
  swapChain(next: BlockBackend): BlockBackend {
    if (!this.held) throw new Error(`swapChain on vv ${this.name} without hold()`);
    assertLargeEnough(this.name, this.volumeSize, next);
    const previous = this.current;
    this.current = next;
    return previous;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    const waiters = this.gateWaiters;
    this.gateWaiters = [];
    for (const wake of waiters) wake();
    this.holdQueue.shift()?.();
  }

  async withHold<T>(fn: (vv: this) => Promise<T> | T): Promise<T> {
    await this.hold();
    try {
      return await fn(this);
    } finally {
      this.release();
    }
  }

  /** Drains, flushes and closes the chain; later requests fail with ESHUTDOWN. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.hold();
    if (this.closed) return this.release();
    this.closed = true;
    try {
      if (this.current.capabilities().canFlush && !this.current.capabilities().readOnly) {
        await this.current.flush().catch(() => {});
      }
      await this.current.close();
    } finally {
      this.release();
    }
  }

  /** Fast path (gate open): no async frame, one then(); the slow path waits at the gate. */
  private forward<T>(op: (backend: BlockBackend) => Promise<T>): Promise<T> {
    this.lastRequest = performance.now();
    if (this.held || this.closed) return this.forwardWhenOpen(op);
    this.inFlight++;
    let pending: Promise<T>;
    try {
      pending = op(this.current);
    } catch (err) {
      this.leave();
      return Promise.reject(err);
    }
    return pending.then(
      (value) => {
        this.leave();
        return value;
      },
      (err) => {
        this.leave();
        throw err;
      },
    );
  }

  private async forwardWhenOpen<T>(op: (backend: BlockBackend) => Promise<T>): Promise<T> {
    while (this.held) await new Promise<void>((resolve) => this.gateWaiters.push(resolve));
    if (this.closed) throw new BackendError('ESHUTDOWN', `volume ${this.name} is closed`);
    return this.forward(op);
  }

  private leave(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.drained) {
      const done = this.drained;
      this.drained = undefined;
      done();
    }
  }
}

const ZERO_PIECE = Buffer.alloc(1024 * 1024);

/** WRITE_ZEROES on a chain without zero support: plain writes (refused when the client wants it fast). */
async function writeZeroes(
  b: BlockBackend,
  offset: number,
  length: number,
  opts?: ZeroOptions,
): Promise<void> {
  if (opts?.fastZero) throw new BackendError('ENOTSUP', 'fast zero is not supported by this volume now');
  for (let done = 0; done < length; done += ZERO_PIECE.length) {
    const piece = Math.min(ZERO_PIECE.length, length - done);
    await b.write(ZERO_PIECE.subarray(0, piece), offset + done);
  }
  if (opts?.fua) await b.flush();
}

function assertLargeEnough(name: string, size: number, chain: BlockBackend): void {
  if (chain.size() < size) {
    throw new Error(`chain for vv ${name} has ${chain.size()} bytes, the vv needs ${size}`);
  }
}
