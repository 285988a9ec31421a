// Host writes racing the copy at random offsets: at the end, source and target are equal byte for
// byte, and the vv's mapping points at the target with epoch + 1.
import { describe, expect, it } from 'vitest';
import { FaultInjectingStage } from '../../agent/backend/fault-stage.js';
import { makeEngine, randomWriter } from '../helpers/move-harness.js';
import { patternBuffer, TestMemoryBackend } from '../helpers/test-memory-backend.js';

const MiB = 1024 * 1024;

describe('move: copy with host writes racing it', () => {
  for (const seed of [1, 2, 3]) {
    it(`ends with source == target (seed ${seed})`, async () => {
      const size = 16 * MiB;
      const source = new TestMemoryBackend(size, {}, patternBuffer(size, seed));
      const memTarget = new TestMemoryBackend(size);
      // A slow target keeps several chunks in flight while the writers run.
      const target = new FaultInjectingStage(memTarget, { delayMs: { write: 2 } });
      let writes = 0;
      const { engine, router, events } = makeEngine({
        source,
        target,
        chunkSize: 256 * 1024,
        parallel: 6,
        // The writers race the whole copy and stop when the cutover begins, so the source keeps
        // everything they wrote and can be compared with the target.
        cutover: async (step) => {
          writes = await writer.stop();
          return router.cutover(step);
        },
      });
      const writer = randomWriter(router, size, seed * 7919);
      const outcome = await engine.start();
      expect(outcome.phase).toBe('done');
      expect(writes).toBeGreaterThan(50);
      expect(memTarget.data.equals(source.data)).toBe(true);
      expect(router.epoch).toBe(2);
      expect(router.chain).toBe(target);
      const last = events[events.length - 1];
      expect(last.phase).toBe('done');
      expect(last.mirroredWrites).toBeGreaterThan(0);
      expect(last.copiedBytes).toBe(size);
    });
  }

  it('keeps writes going during cutover: they land on the target afterwards', async () => {
    const size = 4 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 9));
    const target = new TestMemoryBackend(size);
    const { engine, router } = makeEngine({ source, target });
    const writer = randomWriter(router, size, 99, Buffer.from(source.data));
    const outcome = await engine.start();
    await writer.stop();
    expect(outcome.phase).toBe('done');
    expect(outcome.cutoverPauseMs).not.toBeNull();
    // After the switch writes reach the target only; what the host wrote before is on it too.
    const before = Buffer.from(source.data);
    await router.write(Buffer.alloc(4096, 0xee), 0);
    expect(target.data.subarray(0, 4096).every((b) => b === 0xee)).toBe(true);
    expect(source.data.equals(before)).toBe(true);
  });
});
