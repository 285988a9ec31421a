// The throttle limits copy traffic, never mirrored host writes.
import { describe, expect, it } from 'vitest';
import { makeEngine } from '../helpers/move-harness.js';
import { patternBuffer, TestMemoryBackend } from '../helpers/test-memory-backend.js';

const MiB = 1024 * 1024;

describe('move: throttle', () => {
  it('limits the copy rate but not host writes', async () => {
    const size = 8 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 61));
    const target = new TestMemoryBackend(size);
    const { engine, router } = makeEngine({ source, target, throttle: 4 * MiB });
    const started = performance.now();
    const run = engine.start();
    // Host writes behind the cursor (mirrored), back to back, while the copy is throttled.
    while (engine.progress().copiedBytes < MiB) await new Promise((r) => setTimeout(r, 5));
    let hostBytes = 0;
    const latencies: number[] = [];
    const hostStart = performance.now();
    while (performance.now() - hostStart < 500) {
      const t = performance.now();
      await router.write(Buffer.alloc(64 * 1024, 3), 0);
      latencies.push(performance.now() - t);
      hostBytes += 64 * 1024;
    }
    const hostRate = hostBytes / ((performance.now() - hostStart) / 1000);
    const outcome = await run;
    const seconds = (performance.now() - started) / 1000;
    expect(outcome.phase).toBe('done');
    expect(seconds).toBeGreaterThan(1.5); // 8 MiB at 4 MiB/s
    expect(seconds).toBeLessThan(10); // far from 8 MiB/min; generous for busy CI machines
    expect(hostRate).toBeGreaterThan(16 * MiB); // far above the copy limit
    // The median, not the worst: a shared machine can stall any single write.
    latencies.sort((a, b) => a - b);
    expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(100);
    expect(target.data.equals(source.data)).toBe(true);
  });

  it('can change the rate while the move runs', async () => {
    const size = 8 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 62));
    const { engine } = makeEngine({ source, target: new TestMemoryBackend(size), throttle: MiB });
    const started = performance.now();
    const run = engine.start();
    await new Promise((r) => setTimeout(r, 200));
    engine.setThrottle(null);
    expect((await run).phase).toBe('done');
    expect(performance.now() - started).toBeLessThan(5000); // 8 s if the rate had stayed at 1 MiB/s
  });
});
