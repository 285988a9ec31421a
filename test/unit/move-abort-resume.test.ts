// Abort leaves the source (and the mapping) untouched; a move killed mid-copy resumes from its last
// durable checkpoint and completes with source == target, even with host writes in flight at the kill.
import { describe, expect, it } from 'vitest';
import { FaultInjectingStage } from '../../agent/backend/fault-stage.js';
import { makeEngine, randomWriter } from '../helpers/move-harness.js';
import { patternBuffer, TestMemoryBackend } from '../helpers/test-memory-backend.js';

const MiB = 1024 * 1024;
const waitFor = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 2));
};

describe('move: abort', () => {
  it('leaves the source with exactly what the host wrote and the mapping unchanged', async () => {
    const size = 8 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 21));
    const expected = Buffer.from(source.data);
    const memTarget = new TestMemoryBackend(size);
    const target = new FaultInjectingStage(memTarget, { delayMs: { write: 2 } });
    const { engine, router, events } = makeEngine({ source, target, chunkSize: 256 * 1024 });
    const writer = randomWriter(router, size, 77, expected);
    const run = engine.start();
    await waitFor(() => engine.progress().copiedBytes >= size / 3);
    const outcome = await engine.abort();
    expect(await run).toEqual(outcome);
    expect(outcome.phase).toBe('aborted');
    expect(await writer.stop()).toBeGreaterThan(5);
    expect(source.data.equals(expected)).toBe(true);
    expect(router.epoch).toBe(1);
    expect(router.chain).toBe(engine.mirror);
    // After the abort the stage sends host writes to the source only.
    const targetRequests = memTarget.log.length;
    await router.write(Buffer.alloc(4096, 1), 0);
    expect(memTarget.log.length).toBe(targetRequests);
    expect(events[events.length - 1].phase).toBe('aborted');
    expect(engine.progress().copiedBytes).toBeLessThan(size);
  });

  it('before start, and twice, is harmless', async () => {
    const size = 1 * MiB;
    const { engine } = makeEngine({
      source: new TestMemoryBackend(size),
      target: new TestMemoryBackend(size),
    });
    const first = engine.abort();
    const second = engine.abort();
    expect((await first).phase).toBe('aborted');
    expect(await second).toEqual(await first);
  });
});

describe('move: resume after a kill', () => {
  it('completes from the last durable checkpoint with source == target', async () => {
    const size = 16 * MiB;
    const sourceData = patternBuffer(size, 31);
    const targetData = Buffer.alloc(size);
    // The first agent's view: both stages die at the "kill", requests in flight may or may not land.
    const source1 = new FaultInjectingStage(new TestMemoryBackend(size, {}, sourceData), {
      delayMs: { write: 1 },
    });
    const target1 = new FaultInjectingStage(new TestMemoryBackend(size, {}, targetData), {
      delayMs: { write: 3 },
    });
    const first = makeEngine({
      source: source1,
      target: target1,
      chunkSize: 256 * 1024,
      // Flushed often, so the checkpoint need not count much as unflushed.
      targetFlushIntervalMs: 50,
    });
    const writer1 = randomWriter(first.router, size, 5150);
    first.engine.start();
    await waitFor(() => first.engine.progress().copiedBytes >= size / 2 && first.checkpoints.length > 2);
    // kill -9: nothing after this instant reaches the disks, and the last checkpoint written is all
    // the restarted agent knows.
    const kill = { errorRate: 1, errno: 'ESHUTDOWN' as const };
    source1.setRules(kill);
    target1.setRules(kill);
    const durable = structuredClone(first.checkpoints[first.checkpoints.length - 1]);
    await writer1.stop().catch(() => 0);
    await first.engine.abort();
    expect(durable.cursor).toBeGreaterThan(0);

    const source = new TestMemoryBackend(size, {}, sourceData);
    const target = new TestMemoryBackend(size, {}, targetData);
    let writes = 0;
    const second = makeEngine({
      source,
      target,
      chunkSize: 256 * 1024,
      checkpoint: durable,
      cutover: async (step) => {
        writes = await writer2.stop();
        return second.router.cutover(step);
      },
    });
    expect(second.engine.progress().copiedBytes).toBe(durable.cursor);
    const writer2 = randomWriter(second.router, size, 6160);
    const outcome = await second.engine.start();
    expect(outcome.phase).toBe('done');
    expect(writes).toBeGreaterThan(5);
    expect(targetData.equals(sourceData)).toBe(true);
    // It resumed from the checkpoint's cursor, not from the start.
    const redo = durable.dirty.runs.reduce((sum, [, length]) => sum + length, 0);
    // Host writes hit every copied chunk just before the kill: those chunks are copied again.
    expect(redo).toBeLessThanOrEqual(durable.cursor + 256 * 1024);
    expect(second.events[0].copiedBytes).toBeGreaterThanOrEqual(durable.cursor);
  });
});

describe('move: checkpoint of a quiet move', () => {
  it('counts as dirty only what is not flushed or was written lately', async () => {
    const size = 16 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 41));
    const target = new FaultInjectingStage(new TestMemoryBackend(size), { delayMs: { write: 3 } });
    const { engine, router, checkpoints } = makeEngine({
      source,
      target,
      chunkSize: 256 * 1024,
      targetFlushIntervalMs: 50,
    });
    const run = engine.start();
    await waitFor(() => engine.progress().copiedBytes >= size / 4);
    engine.pause(); // copy traffic stops; the mirror and the checkpoints go on
    const writer = randomWriter(router, size, 99);
    await new Promise((r) => setTimeout(r, 100));
    expect(await writer.stop()).toBeGreaterThan(10);
    const pausedAt = checkpoints.length;
    await waitFor(() => checkpoints.length >= pausedAt + 4);
    const quiet = checkpoints[checkpoints.length - 1];
    expect(quiet.paused).toBe(true);
    expect(quiet.cursor).toBeGreaterThanOrEqual(size / 4);
    expect(quiet.dirty.runs).toEqual([]);
    engine.resume();
    expect((await run).phase).toBe('done');
  });
});

describe('move: stop at agent shutdown', () => {
  it('keeps the phase in the checkpoint, and a new engine resumes to the end', async () => {
    const size = 8 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 45));
    const targetData = Buffer.alloc(size);
    const slow = new FaultInjectingStage(new TestMemoryBackend(size, {}, targetData), {
      delayMs: { write: 3 },
    });
    const first = makeEngine({ source, target: slow, chunkSize: 256 * 1024 });
    first.engine.start();
    await waitFor(() => first.engine.progress().copiedBytes >= size / 4);
    const stopped = await first.engine.stop();
    expect(stopped.phase).toBe('stopped');
    const last = first.checkpoints[first.checkpoints.length - 1];
    expect(last.phase).toBe('copying');
    expect(last.cursor).toBeGreaterThan(0);
    const second = makeEngine({
      source,
      target: new TestMemoryBackend(size, {}, targetData),
      chunkSize: 256 * 1024,
      checkpoint: last,
    });
    expect((await second.engine.start()).phase).toBe('done');
    expect(targetData.equals(source.data)).toBe(true);
  });
});
