import { describe, expect, it } from 'vitest';
import { CopyThrottle } from '../../agent/move/throttle.js';

describe('CopyThrottle', () => {
  it('holds the average rate', async () => {
    const throttle = new CopyThrottle(4 * 1024 * 1024);
    const started = performance.now();
    for (let i = 0; i < 8; i++) await throttle.take(512 * 1024);
    const seconds = (performance.now() - started) / 1000;
    // 4 MiB at 4 MiB/s, minus the first take (free): at least 0.8 s.
    expect(seconds).toBeGreaterThan(0.8);
    expect(seconds).toBeLessThan(4); // unthrottled would be ~0; generous for busy CI machines
  });

  it('is free when unlimited and wakes waiters on abort', async () => {
    const unlimited = new CopyThrottle(null);
    for (let i = 0; i < 100; i++) await unlimited.take(1 << 30);
    const slow = new CopyThrottle(1024);
    await slow.take(1024 * 1024); // deep debt
    const stop = new AbortController();
    const waiting = slow.take(1, stop.signal);
    stop.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
  });

  it('refunds unused bytes and refuses a bad rate', async () => {
    const throttle = new CopyThrottle(1024 * 1024);
    await throttle.take(1024 * 1024);
    throttle.refund(1024 * 1024);
    const started = performance.now();
    await throttle.take(1);
    expect(performance.now() - started).toBeLessThan(500); // without the refund: a full second
    expect(() => throttle.setRate(-1)).toThrow(RangeError);
  });
});
