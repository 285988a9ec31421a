// The write-intent log in front of mirrored host writes: a write to a region not yet marked waits for
// a durable checkpoint, so how often that happens is what random host writes pay at their tail.
import { describe, expect, it } from 'vitest';
import { INTENT_GRANULE, WriteIntentLog } from '../../agent/move/write-intent.js';
import { makeEngine } from '../helpers/move-harness.js';
import { patternBuffer, TestMemoryBackend } from '../helpers/test-memory-backend.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Deterministic 4 KiB-aligned offsets (a small LCG): the test needs spread, not randomness. */
function* randomOffsets(size: number, count: number): Generator<number> {
  let x = 12345;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    yield Math.floor((x / 2 ** 31) * (size / 4096)) * 4096;
  }
}

describe('write-intent log', () => {
  it('random 4 KiB writes over 2 GiB wait for a durable checkpoint at most once per 64 MiB region', async () => {
    let persists = 0;
    const intent = new WriteIntentLog(2 * GiB, async () => {
      persists++;
    });
    let writes = 0;
    for (const offset of randomOffsets(2 * GiB, 5000)) {
      const end = await intent.begin([{ offset, length: 4096 }], true);
      end();
      writes++;
    }
    expect(writes).toBe(5000);
    expect(INTENT_GRANULE).toBe(64 * MiB);
    // With 4 MiB marks these writes waited 512 times (every region); with 64 MiB ones, 32 at most.
    expect(persists).toBeLessThanOrEqual(32);
    expect(persists).toBeGreaterThan(16);
    expect(intent.marks.dirtyBytes).toBe(persists * 64 * MiB);
  });

  it('a non-durable begin (the catch-up pass) marks without a checkpoint', async () => {
    let persists = 0;
    const intent = new WriteIntentLog(256 * MiB, async () => {
      persists++;
    });
    const end = await intent.begin([{ offset: 70 * MiB, length: MiB }], false);
    expect(persists).toBe(0);
    expect(intent.writesInFlight).toBe(1);
    end();
    expect(intent.writesInFlight).toBe(0);
    expect(intent.marks.runs()).toEqual([{ offset: 64 * MiB, length: 64 * MiB }]);
  });

  it('a move whose chunk size is not a power of two copies the volume exactly', async () => {
    // The intent marks once used the chunk size as their granule, which must be a power of two.
    const size = 40 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 31));
    const target = new TestMemoryBackend(size);
    const { engine } = makeEngine({ source, target, chunkSize: 12 * MiB });
    expect((await engine.start()).phase).toBe('done');
    expect(target.data.equals(source.data)).toBe(true);
  });
});
