// How big the copy's requests are: whole 4 MiB pieces while hosts leave the volume alone (cheaper
// per byte for both agents), 1 MiB pieces while they use it (little copy data queues ahead of their
// writes). The bytes are checked too: the target ends equal to the source either way.
import { describe, expect, it } from 'vitest';
import { BUSY_COPY_PIECE, QUIET_COPY_PIECE } from '../../agent/move/chunk-copier.js';
import { makeEngine, randomWriter } from '../helpers/move-harness.js';
import { patternBuffer, TestMemoryBackend } from '../helpers/test-memory-backend.js';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;

function copyWriteSizes(target: TestMemoryBackend): number[] {
  return target.log.filter((op) => op[0] === 'write').map((op) => op[2] as number);
}

describe('move: copy request sizes', () => {
  it('sends whole 4 MiB pieces when no host uses the volume', async () => {
    const source = new TestMemoryBackend(SIZE, {}, patternBuffer(SIZE, 91));
    const target = new TestMemoryBackend(SIZE);
    // 256 MiB/s: the move lasts ~250 ms, well past the 50 ms it watches for hosts at the start.
    const { engine } = makeEngine({ source, target, chunkSize: 4 * MiB, throttle: 256 * MiB });
    expect((await engine.start()).phase).toBe('done');
    expect(target.data.equals(source.data)).toBe(true);
    const sizes = copyWriteSizes(target);
    expect(Math.max(...sizes)).toBe(QUIET_COPY_PIECE);
    expect(sizes.filter((n) => n === QUIET_COPY_PIECE).length).toBeGreaterThan(SIZE / QUIET_COPY_PIECE / 2);
  });

  it('sends 1 MiB pieces while hosts write to the volume, and the data still matches', async () => {
    const source = new TestMemoryBackend(SIZE, {}, patternBuffer(SIZE, 92));
    const target = new TestMemoryBackend(SIZE);
    const { engine, router } = makeEngine({ source, target, chunkSize: 4 * MiB, busyThrottle: 0 });
    // What the volume should hold: the source's data with every host write applied in order.
    const expected = Buffer.from(source.data);
    const writer = randomWriter(router, SIZE, 7, expected);
    const end = await engine.start();
    expect(await writer.stop()).toBeGreaterThan(0);
    expect(end.phase).toBe('done');
    expect(target.data.equals(expected)).toBe(true); // after cutover the volume is the target
    // Host writes are at most 256 KiB; copy pieces are 1 MiB (or shorter at a zero run).
    expect(Math.max(...copyWriteSizes(target))).toBe(BUSY_COPY_PIECE);
  });
});
