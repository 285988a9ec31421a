// VirtualVolume: requests go to the current chain; hold() waits for requests in flight and holds new
// ones; swapChain() under hold redirects them; release() lets them go on, to the new chain.
import { describe, expect, it } from 'vitest';
import type { BlockBackend } from '../../agent/backend/block-backend.js';
import { VirtualVolume } from '../../agent/volumes/virtual-volume.js';
import { TestMemoryBackend } from '../helpers/test-memory-backend.js';

const SIZE = 1024 * 1024;

/** A stage whose writes wait until the test lets them finish. */
function slowStage(inner: TestMemoryBackend): BlockBackend & { finish(): void } {
  const pending: Array<() => void> = [];
  return Object.assign(Object.create(inner) as BlockBackend, {
    size: () => inner.size(),
    capabilities: () => inner.capabilities(),
    async write(data: Buffer, offset: number) {
      await new Promise<void>((r) => pending.push(r));
      return inner.write(data, offset);
    },
    finish() {
      for (const r of pending.splice(0)) r();
    },
  });
}

const tick = () => new Promise((r) => setImmediate(r));

describe('VirtualVolume gate', () => {
  it('forwards I/O and reports the vv size, not the chain size', async () => {
    const lv = new TestMemoryBackend(2 * SIZE);
    const vv = new VirtualVolume('v', SIZE, lv);
    await vv.write(Buffer.alloc(4096, 7), 8192);
    const back = Buffer.alloc(4096);
    await vv.read(back, 8192);
    expect(back.every((b) => b === 7)).toBe(true);
    expect(vv.size()).toBe(SIZE);
    expect(() => new VirtualVolume('small', SIZE, new TestMemoryBackend(SIZE / 2))).toThrow(/needs/);
  });

  it('knows when its last request arrived (a move starts at the busy rate only under host I/O)', async () => {
    const vv = new VirtualVolume('v', SIZE, new TestMemoryBackend(SIZE));
    expect(vv.lastRequestAt).toBe(Number.NEGATIVE_INFINITY);
    const before = performance.now();
    await vv.read(Buffer.alloc(512), 0);
    const afterRead = vv.lastRequestAt;
    expect(afterRead).toBeGreaterThanOrEqual(before);
    await vv.write(Buffer.alloc(512, 1), 0);
    expect(vv.lastRequestAt).toBeGreaterThanOrEqual(afterRead);
    expect(vv.lastRequestAt).toBeLessThanOrEqual(performance.now());
  });

  it('hold() drains requests in flight, holds new ones, and swapChain redirects them', async () => {
    const source = new TestMemoryBackend(SIZE);
    const slow = slowStage(source);
    const target = new TestMemoryBackend(SIZE);
    const vv = new VirtualVolume('v', SIZE, slow);

    const inFlight = vv.write(Buffer.alloc(512, 1), 0);
    await tick();
    expect(vv.requestsInFlight).toBe(1);
    let held = false;
    const holding = vv.hold().then(() => {
      held = true;
    });
    await tick();
    expect(held).toBe(false);
    const later = vv.write(Buffer.alloc(512, 2), 512);
    await tick();
    expect(vv.requestsInFlight).toBe(1);

    slow.finish();
    await inFlight;
    await holding;
    expect(held).toBe(true);
    expect(vv.swapChain(target)).toBe(slow);
    vv.release();
    await later;
    expect(source.data[0]).toBe(1);
    expect(source.data[512]).toBe(0);
    expect(target.data[512]).toBe(2);
  });

  it('makes a second hold() wait for the first release()', async () => {
    const vv = new VirtualVolume('v', SIZE, new TestMemoryBackend(SIZE));
    await vv.hold();
    let second = false;
    const next = vv.hold().then(() => {
      second = true;
    });
    await tick();
    expect(second).toBe(false);
    vv.release();
    await next;
    expect(second).toBe(true);
    vv.release();
    expect(() => vv.swapChain(new TestMemoryBackend(SIZE))).toThrow(/without hold/);
  });

  it('flushes and closes the chain on close(), then fails requests with ESHUTDOWN', async () => {
    const lv = new TestMemoryBackend(SIZE);
    const vv = new VirtualVolume('v', SIZE, lv);
    await vv.write(Buffer.alloc(512, 3), 0);
    await vv.close();
    await vv.close();
    expect(lv.stats.flushes).toBe(1);
    expect(lv.closed).toBe(true);
    await expect(vv.read(Buffer.alloc(512), 0)).rejects.toMatchObject({ errno: 'ESHUTDOWN' });
  });
});

describe('VirtualVolume fallbacks after a swap', () => {
  it('serves FUA, zero, trim and cache on a chain that lacks them', async () => {
    const plain = new TestMemoryBackend(SIZE, {
      canFua: false,
      canZero: false,
      canTrim: false,
      canCache: false,
    });
    plain.data.fill(0xff);
    const vv = new VirtualVolume('v', SIZE, new TestMemoryBackend(SIZE));
    await vv.withHold(() => {
      vv.swapChain(plain);
    });
    await vv.write(Buffer.alloc(512, 1), 0, { fua: true });
    expect(plain.stats.flushes).toBe(1);
    await vv.zero(4096, 8192);
    expect(plain.data.subarray(4096, 4096 + 8192).every((b) => b === 0)).toBe(true);
    await expect(vv.zero(0, 512, { fastZero: true })).rejects.toMatchObject({ errno: 'ENOTSUP' });
    await vv.trim(0, 4096);
    await vv.cache(0, 4096);
    expect(plain.stats.trims).toBe(0);
    expect(plain.data[0]).toBe(1);
  });
});
