// The verify pass compares every chunk of source and target under the chunk lock: a corrupted
// target chunk is found, copied again and counted.
import { describe, expect, it } from 'vitest';
import type { WriteOptions } from '../../agent/backend/block-backend.js';
import { makeEngine, randomWriter } from '../helpers/move-harness.js';
import { patternBuffer, TestMemoryBackend } from '../helpers/test-memory-backend.js';

const MiB = 1024 * 1024;

/** TEST DOUBLE: a target that silently flips one byte of the first write covering `at`. */
class CorruptOnceBackend extends TestMemoryBackend {
  corrupted = false;
  constructor(
    size: number,
    private readonly at: number,
  ) {
    super(size);
  }
  override async write(data: Buffer, offset: number, opts?: WriteOptions): Promise<void> {
    await super.write(data, offset, opts);
    if (!this.corrupted && offset <= this.at && this.at < offset + data.length) {
      this.data[this.at] ^= 0xff;
      this.corrupted = true;
    }
  }
}

describe('move: verify', () => {
  it('finds a corrupted target chunk, copies it again and reports it', async () => {
    const size = 8 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 51));
    const target = new CorruptOnceBackend(size, 5 * MiB + 12345);
    let writes = 0;
    const { engine, router, events, checkpoints } = makeEngine({
      source,
      target,
      verify: true,
      cutover: async (step) => {
        writes = await writer.stop();
        return router.cutover(step);
      },
    });
    const writer = randomWriter(router, 4 * MiB, 515); // writes below the corrupted byte only
    const outcome = await engine.start();
    expect(outcome.phase).toBe('done');
    expect(target.corrupted).toBe(true);
    expect(writes).toBeGreaterThan(5);
    expect(target.data.equals(source.data)).toBe(true);
    const last = events[events.length - 1];
    expect(last.mismatches).toBe(1);
    expect(last.verifiedBytes).toBe(size);
    // Phase changes are checkpointed at once (events may fold a short phase into the next one).
    expect(checkpoints.some((c) => c.phase === 'verifying')).toBe(true);
  });

  it('finds nothing on a clean copy', async () => {
    const size = 4 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 52));
    const target = new TestMemoryBackend(size);
    const { engine, events } = makeEngine({ source, target, verify: true });
    expect((await engine.start()).phase).toBe('done');
    expect(events[events.length - 1].mismatches).toBe(0);
    expect(target.stats.reads).toBeGreaterThanOrEqual(size / (256 * 1024));
  });
});
