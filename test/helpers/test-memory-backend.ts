// TEST DOUBLE: a BlockBackend over a Buffer in memory, for unit tests of stages and of the move
// engine. It counts requests so tests can see what went where, reports extents (64 KiB blocks that
// are all zero read as holes), and can be told to claim fewer capabilities.

import {
  type BackendCapabilities,
  BackendError,
  type BlockBackend,
  type Extent,
  type WriteOptions,
  type ZeroOptions,
} from '../../agent/backend/block-backend.js';

const EXTENT_BLOCK = 64 * 1024;
const ZERO_BLOCK = Buffer.alloc(EXTENT_BLOCK);

export interface TestMemoryStats {
  reads: number;
  writes: number;
  writtenBytes: number;
  zeroes: number;
  zeroedBytes: number;
  trims: number;
  flushes: number;
  extents: number;
}

export class TestMemoryBackend implements BlockBackend {
  readonly data: Buffer;
  readonly stats: TestMemoryStats = {
    reads: 0,
    writes: 0,
    writtenBytes: 0,
    zeroes: 0,
    zeroedBytes: 0,
    trims: 0,
    flushes: 0,
    extents: 0,
  };
  /** Every write-like request as [kind, offset, length], in order (for tests of routing). */
  readonly log: Array<[string, number, number]> = [];
  closed = false;
  private readonly caps: BackendCapabilities;

  constructor(size: number, caps: Partial<BackendCapabilities> = {}, data?: Buffer) {
    this.data = data ?? Buffer.alloc(size);
    this.caps = {
      readOnly: false,
      canFlush: true,
      canFua: true,
      canTrim: true,
      canZero: true,
      canFastZero: true,
      canCache: false,
      canExtents: true,
      canMultiConn: true,
      ...caps,
    };
  }

  size(): number {
    return this.data.length;
  }

  capabilities(): BackendCapabilities {
    return { ...this.caps };
  }

  async read(into: Buffer, offset: number): Promise<void> {
    this.check(offset, into.length);
    this.stats.reads++;
    await tick();
    this.data.copy(into, 0, offset, offset + into.length);
  }

  async write(data: Buffer, offset: number, _opts?: WriteOptions): Promise<void> {
    this.check(offset, data.length);
    this.stats.writes++;
    this.stats.writtenBytes += data.length;
    this.log.push(['write', offset, data.length]);
    await tick();
    data.copy(this.data, offset);
  }

  async flush(): Promise<void> {
    this.check(0, 0);
    this.stats.flushes++;
    await tick();
  }

  async trim(offset: number, length: number): Promise<void> {
    this.check(offset, length);
    this.stats.trims++;
    this.log.push(['trim', offset, length]);
    await tick();
    this.data.fill(0, offset, offset + length);
  }

  async zero(offset: number, length: number, _opts?: ZeroOptions): Promise<void> {
    this.check(offset, length);
    this.stats.zeroes++;
    this.stats.zeroedBytes += length;
    this.log.push(['zero', offset, length]);
    await tick();
    this.data.fill(0, offset, offset + length);
  }

  async extents(offset: number, length: number): Promise<Extent[]> {
    this.check(offset, length);
    this.stats.extents++;
    const out: Extent[] = [];
    const end = offset + length;
    for (let at = offset; at < end; ) {
      const blockEnd = Math.min((Math.floor(at / EXTENT_BLOCK) + 1) * EXTENT_BLOCK, end);
      const zero = this.data.subarray(at, blockEnd).equals(ZERO_BLOCK.subarray(0, blockEnd - at));
      const flags = zero ? 3 : 0;
      const last = out[out.length - 1];
      if (last && last.flags === flags) last.length += blockEnd - at;
      else out.push({ length: blockEnd - at, flags });
      at = blockEnd;
    }
    return out;
  }

  async cache(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(offset: number, length: number): void {
    if (this.closed) throw new BackendError('ESHUTDOWN', 'test backend is closed');
    if (offset < 0 || offset + length > this.data.length) {
      throw new BackendError('EINVAL', `request [${offset}, +${length}) past the end (${this.data.length})`);
    }
  }
}

/** Yields to the event loop, as real I/O would, so requests interleave in tests. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Deterministic pseudo-random bytes (xorshift), so a failing test can be replayed. */
export function patternBuffer(size: number, seed: number): Buffer {
  const buf = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeUInt32LE(x >>> 0, i);
  }
  return buf;
}
