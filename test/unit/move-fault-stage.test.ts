import { describe, expect, it } from 'vitest';
import { BackendError } from '../../agent/backend/block-backend.js';
import { FaultInjectingStage } from '../../agent/backend/fault-stage.js';
import { TestMemoryBackend } from '../helpers/test-memory-backend.js';

describe('FaultInjectingStage', () => {
  it('delays requests per operation', async () => {
    const stage = new FaultInjectingStage(new TestMemoryBackend(4096), { delayMs: { write: 300 } });
    let started = performance.now();
    await stage.write(Buffer.alloc(512, 1), 0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
    started = performance.now();
    await stage.read(Buffer.alloc(512), 0);
    // Far below the write delay, with room for a busy machine.
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('fails the chosen operations with the chosen errno until healed', async () => {
    const mem = new TestMemoryBackend(4096);
    const stage = new FaultInjectingStage(mem, { errorRate: 1, errno: 'ENOSPC', errorOps: ['write'] });
    const err = await stage.write(Buffer.alloc(512, 1), 0).catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.errno).toBe('ENOSPC');
    await stage.read(Buffer.alloc(512), 0);
    expect(mem.stats.writes).toBe(0);
    expect(stage.injectedErrors).toBe(1);
    stage.heal();
    await stage.write(Buffer.alloc(512, 1), 0);
    expect(mem.data[0]).toBe(1);
    expect(() => stage.setRules({ errorRate: 2 })).toThrow(RangeError);
  });
});
