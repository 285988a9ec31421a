// A local LV served from a file or a block device: one shared file descriptor driven by the fs
// callback API (each call is one pread/pwrite on libuv's thread pool), fdatasync for FLUSH and FUA.
// One descriptor for every connection means a flush covers the writes of all: canMultiConn.
//
// Node has neither lseek(SEEK_DATA) nor fallocate, so allocation is found by reading: a 64 KiB
// block that reads as zeroes is reported as a hole that reads as zero; WRITE_ZEROES writes nothing
// where the data already reads as zero, which keeps sparse files sparse.

import * as fs from 'node:fs';
import { STATE_HOLE, STATE_ZERO } from '../nbd/wire.js';
import {
  type BackendCapabilities,
  BackendError,
  type BlockBackend,
  type Extent,
  type WriteOptions,
  type ZeroOptions,
} from './block-backend.js';

/** Granularity of zero detection for block status. */
const EXTENT_BLOCK = 64 * 1024;
/** Bytes read per extents() call at most: a longer query gets shorter extents, and asks again. */
const EXTENT_SCAN_LIMIT = 64 * 1024 * 1024;
/** Buffer size for scanning and for writing zeroes. */
const IO_CHUNK = 1024 * 1024;
const ZEROES = Buffer.alloc(IO_CHUNK);
const RESOLVED = Promise.resolve();
/**
 * Inline (event-loop) I/O: at most this many bytes, within a budget of slow calls (InlineIoGovernor).
 * FERRY_INLINE_IO=0 in the environment turns it off (every call through the thread pool).
 */
const INLINE_MAX_BYTES = process.env.FERRY_INLINE_IO === '0' ? -1 : 64 * 1024;
const SLOW_CALL_MS = 0.05;
const SLOW_BUDGET_MS = 50;
const INLINE_BACKOFF_MIN_MS = 1_000;
const INLINE_BACKOFF_MAX_MS = 64_000;

export interface FileBackendOptions {
  readOnly?: boolean;
  /** Detected with fstat when not given. */
  isBlockDevice?: boolean;
}

export async function openFileBackend(path: string, opts: FileBackendOptions = {}): Promise<BlockBackend> {
  const readOnly = opts.readOnly === true;
  const fd = await call<number>((cb) => fs.open(path, readOnly ? 'r' : 'r+', cb));
  try {
    const stat = await call<fs.Stats>((cb) => fs.fstat(fd, cb));
    const isBlockDevice = opts.isBlockDevice ?? stat.isBlockDevice();
    if (!isBlockDevice && !stat.isFile())
      throw new Error(`${path} is neither a regular file nor a block device`);
    const size = isBlockDevice ? await blockDeviceSize(path, stat) : stat.size;
    return new FileBackend(path, fd, size, readOnly, isBlockDevice);
  } catch (err) {
    fs.close(fd, () => {});
    throw err;
  }
}

class FileBackend implements BlockBackend {
  private closed?: Promise<void>;
  private readonly caps: BackendCapabilities;
  // Reads and writes slow down for different reasons (a cold cache, writeback throttling).
  private readonly inlineReads = new InlineIoGovernor(diskWasRead);
  private readonly inlineWrites = new InlineIoGovernor();
  /** The last pool write of a regular file: the next one starts after it (see poolWrite). */
  private writeTail: Promise<void> = RESOLVED;

  constructor(
    private readonly path: string,
    private readonly fd: number,
    private readonly bytes: number,
    readOnly: boolean,
    private readonly isBlockDevice: boolean,
  ) {
    this.caps = {
      readOnly,
      canFlush: true,
      canFua: !readOnly,
      canTrim: !readOnly,
      canZero: !readOnly,
      canFastZero: !readOnly,
      canCache: false,
      canExtents: true,
      canMultiConn: true,
    };
  }

  size(): number {
    return this.bytes;
  }

  capabilities(): BackendCapabilities {
    return this.caps;
  }

  read(into: Buffer, offset: number): Promise<void> {
    if (this.inlineReads.allows(into.length)) {
      try {
        return this.inlineReads.run(() => this.readInline(into, offset));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise((resolve, reject) => this.readLoop(into, 0, offset, resolve, reject));
  }

  async write(data: Buffer, offset: number, opts?: WriteOptions): Promise<void> {
    if (this.inlineWrites.allows(data.length))
      await this.inlineWrites.run(() => this.writeInline(data, offset));
    else await this.poolWrite(data, offset);
    if (opts?.fua) await this.flush();
  }

  flush(): Promise<void> {
    return call<void>((cb) => fs.fdatasync(this.fd, cb));
  }

  /** A hint with no required effect ("NBD_CMD_TRIM"); without fallocate, keeping the data is cheapest. */
  async trim(_offset: number, _length: number, _opts?: WriteOptions): Promise<void> {}

  async zero(offset: number, length: number, opts?: ZeroOptions): Promise<void> {
    if (opts?.fastZero) {
      // Fast only when there is nothing to write; the export is left untouched otherwise.
      if (!(await this.readsAsZero(offset, length))) {
        throw new BackendError('ENOTSUP', 'zeroing would need writes: not fast');
      }
      return;
    }
    const scratch = Buffer.allocUnsafe(Math.min(IO_CHUNK, length));
    let wrote = false;
    for (let at = offset; at < offset + length; ) {
      const n = Math.min(IO_CHUNK, offset + length - at);
      const view = scratch.subarray(0, n);
      await this.read(view, at);
      if (!isZero(view)) {
        await this.poolWrite(ZEROES.subarray(0, n), at);
        wrote = true;
      }
      at += n;
    }
    if (wrote && opts?.fua) await this.flush();
  }

  async extents(offset: number, length: number): Promise<Extent[]> {
    const end = offset + Math.min(length, EXTENT_SCAN_LIMIT);
    const zeroFlags = this.isBlockDevice ? STATE_ZERO : STATE_ZERO | STATE_HOLE;
    const extents: Extent[] = [];
    const buf = Buffer.allocUnsafe(Math.min(IO_CHUNK, end - offset + EXTENT_BLOCK));
    let at = offset;
    while (at < end) {
      const chunkEnd = Math.min(end, at + buf.length);
      const view = buf.subarray(0, chunkEnd - at);
      await this.read(view, at);
      // Blocks are aligned to EXTENT_BLOCK in the export, so extents line up across calls.
      let block = at;
      while (block < chunkEnd) {
        const blockEnd = Math.min(chunkEnd, (Math.floor(block / EXTENT_BLOCK) + 1) * EXTENT_BLOCK);
        const flags = isZero(view.subarray(block - at, blockEnd - at)) ? zeroFlags : 0;
        const last = extents[extents.length - 1];
        if (last && last.flags === flags) last.length += blockEnd - block;
        else extents.push({ length: blockEnd - block, flags });
        block = blockEnd;
      }
      at = chunkEnd;
    }
    return extents;
  }

  async cache(_offset: number, _length: number): Promise<void> {}

  close(): Promise<void> {
    this.closed ??= call<void>((cb) => fs.close(this.fd, cb)).catch(() => {});
    return this.closed;
  }

  private async readsAsZero(offset: number, length: number): Promise<boolean> {
    const buf = Buffer.allocUnsafe(Math.min(IO_CHUNK, length));
    for (let at = offset; at < offset + length; at += buf.length) {
      const view = buf.subarray(0, Math.min(buf.length, offset + length - at));
      await this.read(view, at);
      if (!isZero(view)) return false;
    }
    return true;
  }

  private readInline(into: Buffer, offset: number): Promise<void> {
    let done = 0;
    while (done < into.length) {
      const n = fs.readSync(this.fd, into, done, into.length - done, offset + done);
      if (n === 0) {
        into.fill(0, done);
        break;
      }
      done += n;
    }
    return RESOLVED;
  }

  private writeInline(data: Buffer, offset: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const n = fs.writeSync(this.fd, data, done, data.length - done, offset + done);
      if (n === 0) throw new BackendError('ENOSPC', `no progress writing ${this.path} at ${offset + done}`);
      done += n;
    }
    return RESOLVED;
  }

  /**
   * A pwrite on libuv's pool. Writes to one regular file take its inode lock, so several at once
   * only queue in the kernel, and its waiters spin for the lock: 4 concurrent 4 MiB writes to a tmpfs
   * file used 2-5x the CPU of one at a time for the same wall time, taken from the event loop on a
   * small machine. So a file gets one pool write at a time; a block device, which has no such lock
   * and gains from parallel requests, gets them all at once.
   */
  private poolWrite(data: Buffer, offset: number): Promise<void> {
    const start = () =>
      new Promise<void>((resolve, reject) => this.writeLoop(data, 0, offset, resolve, reject));
    if (this.isBlockDevice) return start();
    const done = this.writeTail.then(start);
    this.writeTail = done.catch(() => {});
    return done;
  }

  // Loops of pread/pwrite with plain callbacks: short transfers continue where they stopped.
  private readLoop(
    into: Buffer,
    done: number,
    offset: number,
    resolve: () => void,
    reject: (err: Error) => void,
  ): void {
    fs.read(this.fd, into, done, into.length - done, offset + done, (err, n) => {
      if (err) return reject(err);
      if (n === 0) {
        // Past the end of a file that shrank under us: what is not there reads as zeroes.
        into.fill(0, done);
        return resolve();
      }
      if (done + n >= into.length) return resolve();
      this.readLoop(into, done + n, offset, resolve, reject);
    });
  }

  private writeLoop(
    data: Buffer,
    done: number,
    offset: number,
    resolve: () => void,
    reject: (err: Error) => void,
  ): void {
    fs.write(this.fd, data, done, data.length - done, offset + done, (err, n) => {
      if (err) return reject(err);
      if (n === 0)
        return reject(new BackendError('ENOSPC', `no progress writing ${this.path} at ${offset + done}`));
      if (done + n >= data.length) return resolve();
      this.writeLoop(data, done + n, offset, resolve, reject);
    });
  }
}

/**
 * Decides when a small pread/pwrite runs inline on the event loop instead of libuv's thread pool.
 * On data the page cache holds, an inline 4 KiB pread costs ~2 us of CPU, the thread pool ~10-15 us
 * (a queue, a worker wake-up, an async wake-up of the loop: context switches), which halves the
 * IOPS a client gets. But a call that goes to disk, or is throttled by writeback, stalls every
 * client of the process while it runs, and a disk serves requests in parallel only through the
 * pool. So inline I/O gets a budget: calls slower than SLOW_CALL_MS may add up to SLOW_BUDGET_MS (5%)
 * per second (one preemption by the scheduler fits in it; a run of disk reads does not). Past it,
 * I/O goes to the pool for a backoff that doubles (1 s up to 64 s) while inline I/O keeps being
 * slow when tried again. A slow read counts only if the process read from a device meanwhile, so
 * a busy machine's scheduler does not send cached reads to the pool.
 */
class InlineIoGovernor {
  private poolUntil = 0;
  private backoffMs = INLINE_BACKOFF_MIN_MS;
  private windowStart = 0;
  private slowMs = 0;
  /** When inline I/O last came back from the pool: slow again soon after means a longer backoff. */
  private resumedAt = Number.NEGATIVE_INFINITY;

  /** `confirmSlow` tells a call that waited for the device from one the scheduler merely preempted. */
  constructor(private readonly confirmSlow: () => boolean = () => true) {}

  allows(length: number): boolean {
    if (length > INLINE_MAX_BYTES) return false;
    if (this.poolUntil === 0) return true;
    const now = performance.now();
    if (now < this.poolUntil) return false;
    this.poolUntil = 0;
    this.resumedAt = now;
    return true;
  }

  run(io: () => Promise<void>): Promise<void> {
    const start = performance.now();
    try {
      return io();
    } finally {
      const took = performance.now() - start;
      if (took > SLOW_CALL_MS) this.slow(start + took, took);
    }
  }

  private slow(now: number, took: number): void {
    if (!this.confirmSlow()) return;
    if (now - this.windowStart > 1_000) {
      this.windowStart = now;
      this.slowMs = 0;
    }
    this.slowMs += took;
    if (this.slowMs <= SLOW_BUDGET_MS) return;
    const relapse = now - this.resumedAt < 2_000;
    this.backoffMs = relapse ? Math.min(this.backoffMs * 2, INLINE_BACKOFF_MAX_MS) : INLINE_BACKOFF_MIN_MS;
    this.poolUntil = now + this.backoffMs;
    this.slowMs = 0;
  }
}

let blockReadsSeen = 0;
/**
 * For a slow inline read: did the process read from a device since the last check (getrusage's
 * ru_inblock)? If not, the data came from the page cache and the delay was the scheduler's.
 */
function diskWasRead(): boolean {
  const now = process.resourceUsage().fsRead;
  const grew = now !== blockReadsSeen;
  blockReadsSeen = now;
  return grew;
}

function isZero(buf: Buffer): boolean {
  // memcmp against a zero buffer runs in C, far faster than a JS loop.
  for (let at = 0; at < buf.length; at += IO_CHUNK) {
    const n = Math.min(IO_CHUNK, buf.length - at);
    if (!buf.subarray(at, at + n).equals(ZEROES.subarray(0, n))) return false;
  }
  return true;
}

/** Node cannot ask a block device its size (no ioctl); sysfs reports it in 512-byte sectors. */
async function blockDeviceSize(path: string, stat: fs.Stats): Promise<number> {
  const major = Number((BigInt(stat.rdev) >> 8n) & 0xfffn) | Number((BigInt(stat.rdev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(stat.rdev) & 0xffn) | Number((BigInt(stat.rdev) >> 12n) & ~0xffn);
  const sysfs = `/sys/dev/block/${major}:${minor}/size`;
  try {
    const sectors = Number.parseInt(await fs.promises.readFile(sysfs, 'utf8'), 10);
    if (Number.isSafeInteger(sectors) && sectors >= 0) return sectors * 512;
  } catch {
    // fall through to the error below
  }
  throw new Error(`cannot find the size of block device ${path} (${sysfs} unreadable)`);
}

function call<T>(start: (cb: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));
}
