// The copy yields to hosts: while they do I/O on the volume it runs at most at the busy rate, and at
// full speed again once they are quiet. A fake clock drives the bucket, so no figure depends on the
// machine's speed.
import { describe, expect, it } from 'vitest';
import { HostActivity } from '../../agent/move/host-activity.js';
import { CopyThrottle } from '../../agent/move/throttle.js';

const MiB = 1024 * 1024;

class FakeClockForThrottleTest {
  t = 0;
  readonly now = () => this.t;
}

describe('copy throttle: busy hosts', () => {
  it('host activity is busy for a window after each request, and for a short watch at the start', () => {
    const clock = new FakeClockForThrottleTest();
    clock.t = 1000;
    const hosts = new HostActivity(250, clock.now);
    expect(hosts.busy).toBe(true); // not told when hosts last came: watches the first 50 ms
    clock.t = 1051;
    expect(hosts.busy).toBe(false); // an idle volume's move goes to full speed after 50 ms
    clock.t = 1300;
    expect(hosts.busy).toBe(false);
    hosts.note();
    clock.t = 1500;
    expect(hosts.busy).toBe(true);
    clock.t = 1551;
    expect(hosts.busy).toBe(false);
  });

  it('a move told when hosts last used the volume starts busy only if that was within the window', () => {
    const clock = new FakeClockForThrottleTest();
    clock.t = 1000;
    expect(new HostActivity(250, clock.now, Number.NEGATIVE_INFINITY).busy).toBe(false); // never used
    expect(new HostActivity(250, clock.now, 700).busy).toBe(false); // 300 ms ago
    const recent = new HostActivity(250, clock.now, 900); // 100 ms ago: still busy for 150 ms
    expect(recent.busy).toBe(true);
    clock.t = 1149;
    expect(recent.busy).toBe(true);
    clock.t = 1151;
    expect(recent.busy).toBe(false);
  });

  it('caps the rate while hosts are busy, the lower of the two limits applying', () => {
    let busy = true;
    const throttle = new CopyThrottle(
      null,
      () => 0,
      () => busy,
      16 * MiB,
    );
    expect(throttle.currentRate()).toBe(16 * MiB);
    busy = false;
    expect(throttle.currentRate()).toBeNull();
    throttle.setRate(4 * MiB);
    busy = true;
    expect(throttle.currentRate()).toBe(4 * MiB); // the admin's lower limit wins
    throttle.setRate(64 * MiB);
    expect(throttle.currentRate()).toBe(16 * MiB);
    throttle.setBusyRate(0); // off
    expect(throttle.currentRate()).toBe(64 * MiB);
    expect(() => throttle.setBusyRate(-1)).toThrow(RangeError);
  });

  it('makes takers wait while hosts are busy and lets them go when hosts go quiet', async () => {
    let busy = true;
    const throttle = new CopyThrottle(
      null,
      () => performance.now(),
      () => busy,
      MiB,
    );
    await throttle.take(4 * MiB); // overdraws: 4 s of debt at 1 MiB/s
    let second = false;
    const waiting = throttle.take(MiB).then(() => {
      second = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(second).toBe(false); // still paying the debt while hosts are busy
    busy = false;
    const quietAt = performance.now();
    await waiting;
    // The waiter looks again every 100 ms: it goes within a few slices, not after the 4 s debt.
    expect(performance.now() - quietAt).toBeLessThan(2000);
    for (let i = 0; i < 50; i++) await throttle.take(64 * MiB); // unlimited now: no wait at all
  });
});
