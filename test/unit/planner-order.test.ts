// The planner's ordering on paper: independent steps, chains, swaps and cycles of full pools (staging),
// what cannot run (the pool and the bytes missing), thin and thick reservations, and N moves at once.
import { describe, expect, it } from 'vitest';
import type { PoolSpace } from '../../main/core/planner/capacity-ledger.js';
import {
  type OrderResult,
  planOrder,
  type StepRequest,
  type VolumePlace,
} from '../../main/core/planner/plan-order.js';
import { simulateRun } from '../../main/core/planner/plan-simulation.js';

const G = 1024 ** 3;

function pool(ref: string, capacityG: number, usedG: number): PoolSpace {
  const [appliance, name] = ref.split('/');
  return { appliance, pool: name, capacity: capacityG * G, used: usedG * G };
}

function vol(name: string, at: string, sizeG: number, allocatedG: number | null = null): VolumePlace {
  const [appliance, name2] = at.split('/');
  return {
    name,
    size: sizeG * G,
    allocated: allocatedG === null ? null : allocatedG * G,
    appliance,
    pool: name2,
  };
}

function step(id: string, volume: string, to: string, thin = false): StepRequest {
  const [appliance, name] = to.split('/');
  return { id, volume, to: { appliance, pool: name }, thin };
}

const runOrder = (r: OrderResult) => r.hops.filter((h) => h.outcome === 'run').map((h) => h.id);

/** Replays the order one move at a time and checks that no pool ever goes over its capacity. */
function expectSafe(pools: PoolSpace[], result: OrderResult, concurrency = 1) {
  const hops = result.hops.filter((h) => h.outcome === 'run');
  const sim = simulateRun(pools, hops, concurrency, (h) => h.sizeBytes / G);
  expect(sim.blocked).toEqual([]);
  for (const p of pools) {
    expect(sim.peak.get(`${p.appliance}/${p.pool}`)!).toBeLessThanOrEqual(p.capacity);
  }
  for (const h of hops)
    for (const c of h.capacity) {
      expect(c.usedBefore).toBeLessThanOrEqual(c.capacity);
      expect(c.usedAfter).toBeLessThanOrEqual(c.capacity);
    }
}

describe('planner order', () => {
  it('keeps the admin order for independent steps and gives used space before and after each', () => {
    const pools = [pool('a/p', 10, 6), pool('b/p', 10, 0), pool('c/p', 10, 0)];
    const result = planOrder({
      pools,
      volumes: [vol('v1', 'a/p', 2), vol('v2', 'a/p', 4)],
      steps: [step('1', 'v1', 'b/p'), step('2', 'v2', 'c/p')],
    });
    expect(result.feasible).toBe(true);
    expect(result.reason).toBeNull();
    expect(runOrder(result)).toEqual(['1', '2']);
    expect(result.hops[0].capacity).toEqual([
      { appliance: 'a', pool: 'p', capacity: 10 * G, usedBefore: 6 * G, usedAfter: 4 * G },
      { appliance: 'b', pool: 'p', capacity: 10 * G, usedBefore: 0, usedAfter: 2 * G },
    ]);
    expect(result.hops[1].capacity[0]).toMatchObject({ usedBefore: 4 * G, usedAfter: 0 });
    expect(result.pools).toEqual([
      { appliance: 'a', pool: 'p', capacity: 10 * G, usedBefore: 6 * G, usedAfter: 0 },
      { appliance: 'b', pool: 'p', capacity: 10 * G, usedBefore: 0, usedAfter: 2 * G },
      { appliance: 'c', pool: 'p', capacity: 10 * G, usedBefore: 0, usedAfter: 4 * G },
    ]);
    expect(result.staging).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('runs a chain from its end: A->B waits until B->C freed space', () => {
    const pools = [pool('a/p', 10, 4), pool('b/p', 10, 10), pool('c/p', 10, 0)];
    const result = planOrder({
      pools,
      volumes: [vol('va', 'a/p', 4), vol('vb', 'b/p', 10)],
      steps: [step('1', 'va', 'b/p'), step('2', 'vb', 'c/p')],
    });
    expect(result.feasible).toBe(true);
    expect(runOrder(result)).toEqual(['2', '1']);
    expectSafe(pools, result);
  });

  it('prefers the step that frees room others need over the admin order', () => {
    // Steps 1 and 3 both fit now; 3 frees x/p, which step 2 needs, so it goes first.
    const pools = [pool('x/p', 5, 5), pool('y/p', 10, 0), pool('z/p', 10, 0), pool('w/p', 10, 5)];
    const result = planOrder({
      pools,
      volumes: [vol('v1', 'w/p', 1), vol('v2', 'w/p', 3), vol('v3', 'x/p', 5)],
      steps: [step('1', 'v1', 'y/p'), step('2', 'v2', 'x/p'), step('3', 'v3', 'z/p')],
    });
    expect(runOrder(result)).toEqual(['3', '1', '2']);
    expectSafe(pools, result);
  });

  it('backtracks when the greedy choice leads to a dead end', () => {
    // Steps 1 and 2 both fit on t/p and both free a pool someone waits for; greedy takes 1 (admin order)
    // and then 2 never fits. Only 2 first starts the chain 2, 4, 5 that frees t/p for 1.
    const pools = [
      pool('t/p', 9, 3),
      pool('x/p', 4, 4),
      pool('y/p', 4, 4),
      pool('z/p', 3, 3),
      pool('w/p', 3, 3),
    ];
    const result = planOrder({
      pools,
      volumes: [
        vol('v1', 'x/p', 4),
        vol('v2', 'z/p', 3),
        vol('v3', 'y/p', 4),
        vol('v4', 'w/p', 3),
        vol('v5', 't/p', 3),
      ],
      steps: [
        step('1', 'v1', 't/p'),
        step('2', 'v2', 't/p'),
        step('3', 'v3', 'x/p'),
        step('4', 'v4', 'z/p'),
        step('5', 'v5', 'w/p'),
      ],
    });
    expect(result.feasible).toBe(true);
    expect(result.staging).toEqual([]);
    expect(runOrder(result)).toEqual(['2', '4', '5', '1', '3']);
    expectSafe(pools, result);
  });

  it('stages a swap of two full pools through a third pool with room, and says so', () => {
    const pools = [pool('lab-1/pool', 10, 10), pool('lab-2/pool', 10, 10), pool('lab-3/pool', 10, 2)];
    const result = planOrder({
      pools,
      volumes: [
        vol('v1', 'lab-1/pool', 6),
        vol('f1', 'lab-1/pool', 4),
        vol('v2', 'lab-2/pool', 6),
        vol('f2', 'lab-2/pool', 4),
      ],
      steps: [step('1', 'v1', 'lab-2/pool'), step('2', 'v2', 'lab-1/pool')],
    });
    expect(result.feasible).toBe(true);
    expect(result.staging).toHaveLength(1);
    const [note] = result.staging;
    expect(note.via).toEqual({ appliance: 'lab-3', pool: 'pool' });
    expect(note.reason).toMatch(/lab-1\/pool and lab-2\/pool are too full to swap v1 and v2 directly/);
    expect(note.reason).toMatch(/goes through lab-3\/pool first/);
    expect(result.warnings.join('\n')).toMatch(/staged through lab-3\/pool/);
    const hops = result.hops.filter((h) => h.outcome === 'run');
    expect(hops.map((h) => [h.id, h.staging, `${h.from.appliance}->${h.to.appliance}`])).toEqual([
      ['1.stage', true, 'lab-1->lab-3'],
      ['2', false, 'lab-2->lab-1'],
      ['1', false, 'lab-3->lab-2'],
    ]);
    expectSafe(pools, result);
    expect(result.pools.map((p) => p.usedAfter / G)).toEqual([10, 10, 2]);
  });

  it('breaks a 3-cycle A->B->C->A of full pools with one staging hop', () => {
    const pools = [pool('a/p', 8, 8), pool('b/p', 8, 8), pool('c/p', 8, 8), pool('d/p', 8, 0)];
    const result = planOrder({
      pools,
      volumes: [vol('va', 'a/p', 8), vol('vb', 'b/p', 8), vol('vc', 'c/p', 8)],
      steps: [step('1', 'va', 'b/p'), step('2', 'vb', 'c/p'), step('3', 'vc', 'a/p')],
    });
    expect(result.feasible).toBe(true);
    expect(result.staging).toHaveLength(1);
    expect(result.staging[0].reason).toMatch(/is a cycle of pools too full to start/);
    expect(result.hops.filter((h) => h.staging)).toHaveLength(1);
    expect(runOrder(result)).toHaveLength(4);
    expectSafe(pools, result);
    expectSafe(pools, result, 3);
  });

  it('marks a cycle infeasible when no pool has room to stage, naming the pool and the bytes', () => {
    const pools = [pool('lab-1/pool', 10, 10), pool('lab-2/pool', 10, 8.5), pool('lab-3/pool', 10, 9)];
    const result = planOrder({
      pools,
      volumes: [vol('v1', 'lab-1/pool', 3), vol('f1', 'lab-1/pool', 7), vol('v2', 'lab-2/pool', 8.5)],
      steps: [step('1', 'v1', 'lab-2/pool'), step('2', 'v2', 'lab-1/pool')],
    });
    expect(result.feasible).toBe(false);
    expect(result.staging).toEqual([]);
    const [h1, h2] = result.hops;
    expect(h1).toMatchObject({ stepId: '1', feasible: false, outcome: 'infeasible' });
    expect(h1.reason).toMatch(/^pool lab-2\/pool lacks 1\.5G for v1/);
    expect(h1.reason).toMatch(/no other pool has 3\.0G free to stage through/);
    expect(h2.reason).toMatch(/^pool lab-1\/pool lacks 8\.5G/);
    expect(result.reason).toMatch(/^2 of 2 steps cannot run: step 1: pool lab-2\/pool lacks 1\.5G/);
  });

  it('keeps the steps that can run (staged swap) and flags only the one that cannot fit', () => {
    const pools = [pool('lab-1/pool', 10, 10), pool('lab-2/pool', 10, 10), pool('lab-3/pool', 10, 2)];
    const result = planOrder({
      pools,
      volumes: [
        vol('a', 'lab-1/pool', 6),
        vol('f1', 'lab-1/pool', 4),
        vol('b', 'lab-2/pool', 6),
        vol('f2', 'lab-2/pool', 4),
        vol('c', 'lab-3/pool', 2),
      ],
      steps: [step('1', 'a', 'lab-2/pool'), step('2', 'b', 'lab-1/pool'), step('3', 'c', 'lab-1/pool')],
    });
    expect(result.feasible).toBe(false);
    expect(result.hops.map((h) => [h.id, h.outcome])).toEqual([
      ['1.stage', 'run'],
      ['2', 'run'],
      ['1', 'run'],
      ['3', 'infeasible'],
    ]);
    expect(result.hops[3].reason).toMatch(/^pool lab-1\/pool lacks 2\.0G for c/);
    expect(result.staging.map((s) => s.volume)).toEqual(['a']);
    expectSafe(pools, result);
  });

  it('says when a volume is larger than the whole target pool', () => {
    const pools = [pool('a/p', 20, 12), pool('b/p', 10, 0)];
    const result = planOrder({
      pools,
      volumes: [vol('big', 'a/p', 12)],
      steps: [step('1', 'big', 'b/p')],
    });
    expect(result.feasible).toBe(false);
    expect(result.hops[0].reason).toBe('pool b/p lacks 2.0G (big needs 12.0G; the pool holds 10.0G in all)');
  });

  it('keeps what can run when one step cannot', () => {
    const pools = [pool('a/p', 20, 14), pool('b/p', 10, 0), pool('c/p', 4, 0)];
    const result = planOrder({
      pools,
      volumes: [vol('v1', 'a/p', 6), vol('v2', 'a/p', 8)],
      steps: [step('1', 'v1', 'c/p'), step('2', 'v2', 'b/p')],
    });
    expect(result.feasible).toBe(false);
    expect(result.hops.map((h) => [h.order, h.stepId, h.outcome])).toEqual([
      [1, '2', 'run'],
      [2, '1', 'infeasible'],
    ]);
    expect(result.hops[1].reason).toMatch(/^pool c\/p lacks 2\.0G/);
  });

  it('reserves the full size for thick steps and the allocated bytes for thin ones', () => {
    const pools = [pool('a/p', 20, 16), pool('b/p', 10, 6)];
    const volumes = [vol('sparse', 'a/p', 8, 1), vol('other', 'a/p', 8, 8)];
    const thick = planOrder({ pools, volumes, steps: [step('1', 'sparse', 'b/p')] });
    expect(thick.feasible).toBe(false);
    expect(thick.hops[0]).toMatchObject({ reserveBytes: 8 * G, sizeBytes: 8 * G, allocatedBytes: 1 * G });
    expect(thick.hops[0].reason).toMatch(/^pool b\/p lacks 4\.0G/);

    const thin = planOrder({ pools, volumes, steps: [step('1', 'sparse', 'b/p', true)] });
    expect(thin.feasible).toBe(true);
    expect(thin.hops[0]).toMatchObject({ thin: true, reserveBytes: 1 * G, sizeBytes: 8 * G });
    expect(thin.hops[0].capacity[1]).toMatchObject({ usedBefore: 6 * G, usedAfter: 7 * G });

    const unknown = planOrder({
      pools,
      volumes: [vol('sparse', 'a/p', 3)],
      steps: [step('1', 'sparse', 'b/p', true)],
    });
    expect(unknown.hops[0].reserveBytes).toBe(3 * G);
    expect(unknown.warnings[0]).toMatch(
      /allocated bytes of sparse are unknown, so it reserves its full size/,
    );
  });

  it('overlaps independent moves with concurrency 3 and stays within every pool', () => {
    const pools = [pool('a/p', 30, 30), pool('b/p', 30, 0)];
    const volumes = [vol('v1', 'a/p', 10), vol('v2', 'a/p', 10), vol('v3', 'a/p', 10)];
    const steps = [step('1', 'v1', 'b/p'), step('2', 'v2', 'b/p'), step('3', 'v3', 'b/p')];
    const one = planOrder({ pools, volumes, steps, concurrency: 1, durationOf: () => 10 });
    const three = planOrder({ pools, volumes, steps, concurrency: 3, durationOf: () => 10 });
    expect(one.seconds).toBe(30);
    expect(three.seconds).toBe(10);
    expect(three.hops.map((h) => h.startAt)).toEqual([0, 0, 0]);
    expect(three.hops[2].runsWith).toEqual(['1', '2']);
    // The third move reserves beside the two running: b/p holds 20G of reservations when it starts.
    expect(three.hops[2].capacity[1]).toMatchObject({ usedBefore: 20 * G, usedAfter: 30 * G });
    expectSafe(pools, three, 3);
  });

  it('keeps a chain safe with concurrency 3: the dependent move waits for the cutover it needs', () => {
    const pools = [pool('a/p', 10, 5), pool('b/p', 10, 10), pool('c/p', 20, 0), pool('d/p', 10, 0)];
    const volumes = [vol('va', 'a/p', 5), vol('vb', 'b/p', 10), vol('vx', 'c/p', 1)];
    const steps = [step('1', 'va', 'b/p'), step('2', 'vb', 'c/p'), step('3', 'vx', 'd/p')];
    const result = planOrder({ pools, volumes, steps, concurrency: 3, durationOf: (h) => h.sizeBytes / G });
    expect(result.feasible).toBe(true);
    expect(runOrder(result)).toEqual(['2', '1', '3']);
    const byId = new Map(result.hops.map((h) => [h.id, h]));
    // va may only start once vb's cutover freed b/p (vb takes 10 s).
    expect(byId.get('1')!.startAt).toBe(10);
    // The independent step does not wait behind the blocked one's start... it keeps the order, though:
    // it starts no earlier than the step before it.
    expect(byId.get('3')!.startAt).toBe(10);
    expectSafe(pools, result, 3);
  });

  it('waits for the staging hop before the final hop of the same volume, at any concurrency', () => {
    const pools = [pool('a/p', 10, 10), pool('b/p', 10, 10), pool('c/p', 10, 0)];
    const volumes = [vol('va', 'a/p', 10), vol('vb', 'b/p', 10)];
    const steps = [step('1', 'va', 'b/p'), step('2', 'vb', 'a/p')];
    const result = planOrder({ pools, volumes, steps, concurrency: 4, durationOf: () => 5 });
    expect(result.feasible).toBe(true);
    const starts = result.hops.map((h) => [h.id, h.startAt]);
    expect(starts).toEqual([
      ['1.stage', 0],
      ['2', 5],
      ['1', 10],
    ]);
    expectSafe(pools, result, 4);
  });

  it('skips a step whose volume is already on the target, with a warning', () => {
    const pools = [pool('a/p', 10, 2), pool('b/p', 10, 0)];
    const result = planOrder({
      pools,
      volumes: [vol('v1', 'b/p', 2)],
      steps: [step('1', 'v1', 'b/p')],
    });
    expect(result.feasible).toBe(true);
    expect(result.hops[0]).toMatchObject({ outcome: 'already-there', feasible: true, order: 1 });
    expect(result.warnings).toEqual(['step 1: v1 is already on b/p; skipped']);
  });

  it('gives clear reasons for an unknown volume or pool, and refuses malformed input', () => {
    const pools = [pool('a/p', 10, 2)];
    const result = planOrder({
      pools,
      volumes: [vol('v1', 'a/p', 2)],
      steps: [step('1', 'ghost', 'a/p'), step('2', 'v1', 'nowhere/p')],
    });
    expect(result.feasible).toBe(false);
    expect(result.hops.map((h) => h.reason)).toEqual([
      'volume ghost is not in the inventory: refresh it (ferry inventory --refresh) or remove step 1',
      'pool nowhere/p is not in the inventory: check the name (ferry inventory) or remove step 2',
    ]);
    const bad = { pools, volumes: [vol('v1', 'a/p', 2)] };
    expect(() => planOrder({ ...bad, steps: [step('1', 'v1', 'a/p'), step('2', 'v1', 'a/p')] })).toThrow(
      /volume v1 has two steps \(1 and 2\)/,
    );
    expect(() => planOrder({ ...bad, steps: [], concurrency: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    expect(() => planOrder({ pools: [pool('a/p', -1, 0)], volumes: [], steps: [] })).toThrow(
      /capacity of pool a\/p/,
    );
  });

  it('orders a plan of many steps quickly', () => {
    const pools = Array.from({ length: 10 }, (_, i) => pool(`n${i}/p`, 100, 90));
    const volumes = Array.from({ length: 300 }, (_, i) => vol(`v${i}`, `n${i % 10}/p`, 0.25));
    const steps = volumes.map((v, i) => step(String(i + 1), v.name, `n${(i + 1) % 10}/p`));
    const started = performance.now();
    const result = planOrder({ pools, volumes, steps, concurrency: 4 });
    expect(performance.now() - started).toBeLessThan(10_000); // polynomial, not a blow-up; generous for busy CI
    expect(result.feasible).toBe(true);
    expectSafe(pools, result, 4);
  });
});
