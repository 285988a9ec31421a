import { describe, expect, it } from 'vitest';
import { ChunkLocks } from '../../agent/move/range-lock.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('ChunkLocks', () => {
  it('lets shared holders in together and makes a host write wait for a chunk in flight', async () => {
    const locks = new ChunkLocks(1024);
    const a = await locks.lockShared(0, 2048);
    const b = await locks.lockShared(1000, 100);
    let exclusive = false;
    const ex = locks.lockExclusive(1).then((release) => {
      exclusive = true;
      return release;
    });
    await flush();
    expect(exclusive).toBe(false);
    a();
    await flush();
    expect(exclusive).toBe(false); // b still holds chunk 0 only, chunk 1 is free now
    b();
    const releaseEx = await ex;
    expect(exclusive).toBe(true);
    let hostGot = false;
    const host = locks.lockShared(1500, 10).then((r) => {
      hostGot = true;
      return r;
    });
    await flush();
    expect(hostGot).toBe(false);
    releaseEx();
    (await host)();
    expect(locks.activeChunks).toBe(0);
  });

  it('is fair: a waiting copier is not starved by a stream of host writes', async () => {
    const locks = new ChunkLocks(1024);
    const first = await locks.lockShared(0, 10);
    const order: string[] = [];
    const copier = locks.lockExclusive(0).then((r) => {
      order.push('copier');
      r();
    });
    const later = locks.lockShared(0, 10).then((r) => {
      order.push('host');
      r();
    });
    first();
    await Promise.all([copier, later]);
    expect(order).toEqual(['copier', 'host']);
  });

  it('release is idempotent', async () => {
    const locks = new ChunkLocks(1024);
    const r = await locks.lockExclusive(3);
    r();
    r();
    const again = await locks.lockExclusive(3);
    again();
    expect(locks.activeChunks).toBe(0);
  });
});
