// The move's one way to its target. It knows whether the target is up, fails fast while it is down
// (host writes must not wait on a dead target), counts requests in flight so a reopened target is
// only used once every request to the old one has settled, and remembers which regions were written
// since the last successful flush: if the target fails, those may be lost and must be copied again.

import { type BackendCapabilities, BackendError, type BlockBackend } from '../backend/block-backend.js';
import { DirtyMap } from './dirty-map.js';

/** A target connection's job: the bulk copy, or mirrored host writes (see setMirrorLane). */
export type TargetLane = 'copy' | 'mirror';

export class TargetDownError extends BackendError {
  constructor(cause: string) {
    super('EIO', `move target is down: ${cause}`);
    this.name = 'TargetDownError';
  }
}

export interface TargetLinkEvents {
  /** The target failed (first failure of this generation only). */
  onFailure(err: unknown): void;
  /** Regions the target acknowledged but that may be lost (not flushed when it failed). */
  onLostWrites(regions: DirtyMap): void;
}

export class TargetLink {
  private target: BlockBackend;
  /** A second connection for mirrored host writes, so they never queue behind copy data. */
  private mirrorLane: BlockBackend | null = null;
  private generation = 0;
  private downReason: string | null = null;
  private unflushed: DirtyMap;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  /** A null target is not reachable yet (a restarted agent resuming): the link starts down. */
  constructor(
    target: BlockBackend | null,
    private readonly volumeSize: number,
    private readonly granule: number,
    private readonly events: TargetLinkEvents,
  ) {
    this.target = target ?? new UnavailableTarget(volumeSize);
    if (!target) this.downReason = 'not opened yet';
    this.unflushed = new DirtyMap(volumeSize, granule);
  }

  get healthy(): boolean {
    return this.downReason === null;
  }

  get current(): BlockBackend {
    return this.target;
  }

  /** Regions written but not yet flushed (a checkpoint counts them as dirty). */
  get unflushedRegions(): DirtyMap {
    return this.unflushed;
  }

  /**
   * Adds a second connection to the same target for mirrored host writes (lane 'mirror'). Writes on
   * the two lanes never overlap in flight: the chunk locks keep copy and mirror writes of a chunk
   * apart. Dropped on the next failure; give a new one after replace().
   */
  setMirrorLane(lane: BlockBackend): void {
    if (this.downReason !== null) {
      void lane.close().catch(() => {});
      return;
    }
    this.mirrorLane = lane;
  }

  /**
   * Runs one request against the target. `written` names the region a write-like request changes,
   * recorded as unflushed once it succeeds. Any failure takes the link down and is rethrown.
   */
  async run<T>(
    op: (target: BlockBackend) => Promise<T>,
    written?: { offset: number; length: number },
    lane: TargetLane = 'copy',
  ): Promise<T> {
    if (this.downReason !== null) throw new TargetDownError(this.downReason);
    const generation = this.generation;
    const backend = lane === 'mirror' && this.mirrorLane ? this.mirrorLane : this.target;
    this.inFlight++;
    try {
      const result = await op(backend);
      if (written) this.unflushed.mark(written.offset, written.length);
      return result;
    } catch (err) {
      this.fail(err, generation);
      throw err;
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Flushes the target; what was unflushed before it counts as lost if the flush fails. */
  async flush(): Promise<void> {
    const covered = this.unflushed;
    this.unflushed = new DirtyMap(this.volumeSize, this.granule);
    try {
      // Each connection flushes what it wrote (a target need not advertise multi-conn).
      const mirror = this.mirrorLane;
      await Promise.all([
        this.run((t) => t.flush()),
        mirror ? this.run((t) => t.flush(), undefined, 'mirror') : null,
      ]);
    } catch (err) {
      this.events.onLostWrites(covered);
      throw err;
    }
  }

  /** Takes the link down (a request failed, or the caller gave up on the target). */
  fail(err: unknown, generation = this.generation): void {
    if (generation !== this.generation || this.downReason !== null) return;
    this.downReason = err instanceof Error ? err.message : String(err);
    const lost = this.unflushed;
    this.unflushed = new DirtyMap(this.volumeSize, this.granule);
    if (!lost.isEmpty) this.events.onLostWrites(lost);
    this.events.onFailure(err);
  }

  /** Closes both connections (after a failure, so their requests settle); idempotent. */
  async closeAll(): Promise<void> {
    const lane = this.mirrorLane;
    this.mirrorLane = null;
    await Promise.all([this.target.close().catch(() => {}), lane?.close().catch(() => {})]);
  }

  /** Closes the mirror lane alone (after cutover the vv uses the main connection). */
  async releaseMirrorLane(): Promise<void> {
    const lane = this.mirrorLane;
    this.mirrorLane = null;
    await lane?.close().catch(() => {});
  }

  /** Resolves when no request is in flight to the target. */
  drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Puts a reopened target in place of the failed one, once every request to the old one has
   * settled (a late write to the old connection must not land after the catch-up copy).
   */
  async replace(next: BlockBackend): Promise<void> {
    await this.drained();
    const old = this.target;
    const oldLane = this.mirrorLane;
    this.target = next;
    this.mirrorLane = null;
    this.generation++;
    this.unflushed = new DirtyMap(this.volumeSize, this.granule);
    this.downReason = null;
    if (old !== next) await old.close().catch(() => {});
    await oldLane?.close().catch(() => {});
  }
}

/** Stands in for a target that could not be opened; every request fails. */
class UnavailableTarget implements BlockBackend {
  constructor(private readonly bytes: number) {}
  size(): number {
    return this.bytes;
  }
  capabilities(): BackendCapabilities {
    return {
      readOnly: true,
      canFlush: false,
      canFua: false,
      canTrim: false,
      canZero: false,
      canFastZero: false,
      canCache: false,
      canExtents: false,
      canMultiConn: false,
    };
  }
  private fail(): Promise<never> {
    return Promise.reject(new TargetDownError('not opened yet'));
  }
  read = () => this.fail();
  write = () => this.fail();
  flush = () => this.fail();
  trim = () => this.fail();
  zero = () => this.fail();
  extents = () => this.fail();
  cache = () => this.fail();
  async close(): Promise<void> {}
}
