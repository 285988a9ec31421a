// The cursor rule: a write behind the cursor goes to source and target, one ahead of it to the
// source only, one that touches the chunk in flight waits for that chunk (and is then mirrored).
import { describe, expect, it } from 'vitest';
import { FaultInjectingStage } from '../../agent/backend/fault-stage.js';
import { initialCheckpoint } from '../../agent/move/move-journal.js';
import { makeEngine, randomWriter } from '../helpers/move-harness.js';
import { patternBuffer, TestMemoryBackend } from '../helpers/test-memory-backend.js';

const K = 1024;
const CHUNK = 256 * K;
const SIZE = 16 * CHUNK;

/** An engine paused with its cursor after chunk 8 (resumed from a checkpoint). */
function pausedAtHalf() {
  const source = new TestMemoryBackend(SIZE, {}, patternBuffer(SIZE, 5));
  const target = new TestMemoryBackend(SIZE);
  source.data.copy(target.data, 0, 0, 8 * CHUNK); // what the copy did before the checkpoint
  const checkpoint = { ...initialCheckpoint(SIZE, 64 * K), cursor: 8 * CHUNK, paused: true };
  const h = makeEngine({ source, target, chunkSize: CHUNK, checkpoint });
  return { source, target, ...h };
}

describe('mirror stage: where host writes land', () => {
  it('behind the cursor: source and target; ahead: source only; across it: split', async () => {
    const { source, target, engine, router } = pausedAtHalf();
    const run = engine.start();
    const behind = Buffer.alloc(8 * K, 0xb1);
    const ahead = Buffer.alloc(8 * K, 0xa1);
    const across = Buffer.alloc(2 * CHUNK, 0xc1);
    await router.write(behind, 3 * CHUNK + 4 * K);
    await router.write(ahead, 12 * CHUNK);
    await router.write(across, 7 * CHUNK);
    expect(source.data.subarray(3 * CHUNK + 4 * K, 3 * CHUNK + 12 * K).equals(behind)).toBe(true);
    expect(target.data.subarray(3 * CHUNK + 4 * K, 3 * CHUNK + 12 * K).equals(behind)).toBe(true);
    expect(source.data.subarray(12 * CHUNK, 12 * CHUNK + 8 * K).equals(ahead)).toBe(true);
    expect(target.log).toEqual([
      ['write', 3 * CHUNK + 4 * K, 8 * K],
      ['write', 7 * CHUNK, CHUNK], // only the half behind the cursor
    ]);
    // Zero and trim follow the same rule.
    await router.zero(2 * CHUNK, 4 * K);
    await router.zero(14 * CHUNK, 4 * K);
    expect(target.log.slice(2)).toEqual([['zero', 2 * CHUNK, 4 * K]]);
    await engine.mirror.trim(CHUNK, 4 * K);
    expect(target.log.slice(3)).toEqual([['zero', CHUNK, 4 * K]]);
    expect(engine.progress().mirroredWrites).toBe(4);
    // Reads come from the source only.
    const readBack = Buffer.alloc(4 * K);
    await router.read(readBack, 12 * CHUNK);
    expect(readBack.equals(ahead.subarray(0, 4 * K))).toBe(true);
    expect(target.stats.reads).toBe(0);
    // Flush flushes both.
    await engine.mirror.flush();
    expect(source.stats.flushes).toBe(1);
    expect(target.stats.flushes).toBeGreaterThanOrEqual(1);
    engine.resume();
    expect((await run).phase).toBe('done');
    expect(target.data.equals(source.data)).toBe(true);
  });

  it('a write touching the chunk in flight waits for it, then is mirrored', async () => {
    const source = new TestMemoryBackend(SIZE, {}, patternBuffer(SIZE, 6));
    const memTarget = new TestMemoryBackend(SIZE);
    const target = new FaultInjectingStage(memTarget, { delayMs: { write: 150 } });
    const { engine, router } = makeEngine({ source, target, chunkSize: CHUNK, parallel: 1 });
    const run = engine.start();
    await new Promise((r) => setTimeout(r, 30)); // chunk 0 is being copied now
    const started = performance.now();
    await router.write(Buffer.alloc(4 * K, 0xdd), 4 * K);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThan(80);
    // The copy of chunk 0 reached the target first, then the host write did.
    const first = memTarget.log.findIndex(([, off]) => off === 0);
    const host = memTarget.log.findIndex(([, off, len]) => off === 4 * K && len === 4 * K);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(host).toBeGreaterThan(first);
    target.heal();
    expect((await run).phase).toBe('done');
    expect(memTarget.data.equals(source.data)).toBe(true);
  });
});

describe('mirror lane', () => {
  it('sends mirrored host writes on their own connection and closes it after cutover', async () => {
    const size = 8 * 1024 * K;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 8));
    const targetData = Buffer.alloc(size);
    const main = new TestMemoryBackend(size, {}, targetData);
    const lanes: TestMemoryBackend[] = [];
    let writer: ReturnType<typeof randomWriter> | undefined;
    const { engine, router } = makeEngine({
      source,
      target: new FaultInjectingStage(main, { delayMs: { write: 1 } }),
      mirrorLane: true,
      reopenTarget: async () => {
        const lane = new TestMemoryBackend(size, {}, targetData);
        lanes.push(lane);
        return lane;
      },
      cutover: async (step) => {
        await writer?.stop();
        return router.cutover(step);
      },
    });
    writer = randomWriter(router, size, 88);
    expect((await engine.start()).phase).toBe('done');
    expect(lanes).toHaveLength(1);
    expect(lanes[0].stats.writes).toBeGreaterThan(0); // mirrored host writes
    expect(lanes[0].closed).toBe(true);
    expect(main.closed).toBe(false); // the vv's chain now
    expect(targetData.equals(source.data)).toBe(true);
  });

  it('the copy does not wait for the lane: until it is open, mirrored writes go on the copy connection', async () => {
    const size = 4 * 1024 * K;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 9));
    const targetData = Buffer.alloc(size);
    const main = new TestMemoryBackend(size, {}, targetData);
    let lane: TestMemoryBackend | undefined;
    let openLane!: () => void;
    const laneGate = new Promise<void>((resolve) => {
      openLane = resolve;
    });
    const { engine, router } = makeEngine({
      source,
      target: main,
      chunkSize: CHUNK,
      mirrorLane: true,
      reopenTarget: async () => {
        await laneGate;
        lane = new TestMemoryBackend(size, {}, targetData);
        return lane;
      },
    });
    const run = engine.start();
    while (engine.progress().copiedBytes < size) await new Promise((r) => setTimeout(r, 2));
    // The whole volume is copied while the lane is still opening; a host write is mirrored anyway.
    const write = Buffer.alloc(8 * K, 0xe7);
    await router.write(write, 64 * K);
    expect(main.log).toContainEqual(['write', 64 * K, 8 * K]);
    expect(engine.currentPhase).toBe('copying'); // the cutover waits for the lane
    openLane();
    expect((await run).phase).toBe('done');
    expect(lane?.closed).toBe(true); // opened late, released at cutover all the same
    expect(targetData.equals(source.data)).toBe(true);
  });
});
