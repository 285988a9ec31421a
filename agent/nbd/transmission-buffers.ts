// Reuse of the large buffers of the data path (READ replies, WRITE payloads of 128 KiB and more).
// A fresh 1 MiB buffer per request costs page faults, cold CPU caches and GC work that showed up
// as a third of the CPU of 1 MiB transfers; a buffer that comes back is used again for the same
// size. Shared by all connections, bounded in total.

/** Smaller buffers come from Node's allocator cheaply enough. */
const POOL_MIN_BYTES = 128 * 1024;
/** Bytes kept idle in the pool at most (all sizes, all connections). */
const POOL_MAX_IDLE_BYTES = 64 * 1024 * 1024;

class BufferPool {
  private readonly idle = new Map<number, Buffer<ArrayBuffer>[]>();
  private readonly owned = new WeakSet<Buffer>();
  private idleBytes = 0;

  /** A buffer of exactly `size` bytes, contents undefined. */
  take(size: number): Buffer<ArrayBuffer> {
    if (size < POOL_MIN_BYTES) return Buffer.allocUnsafe(size);
    const free = this.idle.get(size);
    const reused = free?.pop();
    if (reused) {
      this.idleBytes -= size;
      return reused;
    }
    // allocUnsafeSlow: a buffer of its own, never a slice of Node's shared pool.
    const buf = Buffer.allocUnsafeSlow(size);
    this.owned.add(buf);
    return buf;
  }

  /** Gives back a buffer from take() once nothing reads it any more; other buffers are ignored. */
  give(buf: Buffer): void {
    if (!this.owned.has(buf)) return;
    if (this.idleBytes + buf.length > POOL_MAX_IDLE_BYTES) {
      // Full: drop the sizes not asked for lately rather than the one in use now.
      for (const [size, list] of this.idle) {
        if (size === buf.length) continue;
        this.idleBytes -= size * list.length;
        this.idle.delete(size);
      }
      if (this.idleBytes + buf.length > POOL_MAX_IDLE_BYTES) return;
    }
    let list = this.idle.get(buf.length);
    if (!list) {
      list = [];
      this.idle.set(buf.length, list);
    }
    list.push(buf as Buffer<ArrayBuffer>);
    this.idleBytes += buf.length;
  }
}

export const dataBuffers = new BufferPool();
