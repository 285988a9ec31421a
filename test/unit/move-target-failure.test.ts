// Target failure mid-copy: host I/O goes on against the source without errors, the move reports
// degraded, retries the target, copies the dirty regions again and ends with source == target.
import { describe, expect, it } from 'vitest';
import { FaultInjectingStage } from '../../agent/backend/fault-stage.js';
import { makeEngine, randomWriter } from '../helpers/move-harness.js';
import { patternBuffer, TestMemoryBackend } from '../helpers/test-memory-backend.js';

const MiB = 1024 * 1024;

describe('move: target failure', () => {
  it('goes degraded, keeps host writes flowing, catches up when the target is back', async () => {
    const size = 16 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 11));
    const targetData = Buffer.alloc(size);
    const first = new FaultInjectingStage(new TestMemoryBackend(size, {}, targetData), {
      delayMs: { write: 1 },
    });
    let targetBack = false;
    let reopenAttempts = 0;
    let writes = 0;
    const { engine, router, events } = makeEngine({
      source,
      target: first,
      chunkSize: 256 * 1024,
      reopenTarget: async () => {
        reopenAttempts++;
        if (!targetBack) throw new Error('connection refused (test)');
        // A new connection to the same LV: the data survived the failure.
        return new TestMemoryBackend(size, {}, targetData);
      },
      cutover: async (step) => {
        writes = await writer.stop();
        return router.cutover(step);
      },
    });
    const writer = randomWriter(router, size, 4242);
    const run = engine.start();
    while (engine.progress().copiedBytes < size / 3) await new Promise((r) => setTimeout(r, 5));
    first.setRules({ errorRate: 1 });
    while (engine.currentPhase !== 'degraded') await new Promise((r) => setTimeout(r, 5));
    // Host writes go on while degraded; the regions behind the cursor become dirty.
    await new Promise((r) => setTimeout(r, 300));
    const degraded = engine.progress();
    expect(degraded.phase).toBe('degraded');
    expect(degraded.dirtyBytes).toBeGreaterThan(0);
    targetBack = true;
    const outcome = await run;
    expect(outcome.phase).toBe('done');
    expect(writes).toBeGreaterThan(20);
    expect(reopenAttempts).toBeGreaterThan(1);
    expect(first.injectedErrors).toBeGreaterThan(0);
    expect(targetData.equals(source.data)).toBe(true);
    const phases = events.map((e) => e.phase);
    expect(phases).toContain('degraded');
    expect(events[events.length - 1].dirtyBytes).toBe(0);
  });

  it('a target flush that fails makes the unflushed regions dirty', async () => {
    const size = 4 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 12));
    const targetData = Buffer.alloc(size);
    const target = new FaultInjectingStage(new TestMemoryBackend(size, {}, targetData));
    const { engine, router } = makeEngine({
      source,
      target,
      chunkSize: 256 * 1024,
      reopenTarget: async () => new TestMemoryBackend(size, {}, targetData),
    });
    engine.pause();
    const run = engine.start();
    engine.resume();
    while (engine.progress().copiedBytes < size / 2) await new Promise((r) => setImmediate(r));
    engine.pause();
    await router.write(Buffer.alloc(4096, 7), 0);
    target.setRules({ errorRate: 1, errorOps: ['flush'] });
    await engine.mirror.flush(); // the host's flush succeeds: the source is flushed
    expect(engine.currentPhase).toBe('degraded');
    expect(engine.progress().dirtyBytes).toBeGreaterThan(0);
    engine.resume();
    expect((await run).phase).toBe('done');
    expect(targetData.equals(source.data)).toBe(true);
  });
});

describe('move: target unreachable at start (an agent resuming)', () => {
  it('starts degraded, reopens the target and completes', async () => {
    const size = 4 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 13));
    const targetData = Buffer.alloc(size);
    let tries = 0;
    const { engine, checkpoints } = makeEngine({
      source,
      target: null,
      reopenTarget: async () => {
        if (++tries < 3) throw new Error('no route to host (test)');
        return new TestMemoryBackend(size, {}, targetData);
      },
    });
    expect((await engine.start()).phase).toBe('done');
    expect(tries).toBe(3);
    expect(checkpoints.some((c) => c.phase === 'degraded')).toBe(true);
    expect(targetData.equals(source.data)).toBe(true);
  });

  it('can be aborted while the target stays away, and refuses a reopened target that is too small', async () => {
    const size = 4 * MiB;
    const hanging = makeEngine({
      source: new TestMemoryBackend(size),
      target: null,
      reopenTarget: () => new Promise(() => {}), // a connect that never returns
    });
    const run = hanging.engine.start();
    await new Promise((r) => setTimeout(r, 50));
    expect((await hanging.engine.abort()).phase).toBe('aborted');
    expect((await run).phase).toBe('aborted');

    const small = makeEngine({
      source: new TestMemoryBackend(size),
      target: null,
      reopenTarget: async () => new TestMemoryBackend(size / 2),
    });
    const outcome = await small.engine.start();
    expect(outcome.phase).toBe('failed');
    expect(outcome.error).toMatch(/reopened target has 2097152 bytes/);
  });
});
