// Plans kept in a real store file (openStore on a temp path, filled through the repositories, every
// appliance "offline"): create/add/remove/show/list/delete, export and import round trip, the bridge's
// shapes, estimates from measured throughput or a guess, and clear refusals.
import { afterEach, describe, expect, it } from 'vitest';
import { estimateCopy, GUESS_RATE_BPS } from '../../main/core/planner/estimate.js';
import { PlanService } from '../../main/core/planner/plan-service.js';
import type { Store } from '../../main/core/store/index.js';
import { bridgeMethods } from '../../shared/bridge/methods.js';
import { planSchema, planSummarySchema } from '../../shared/bridge/model.js';
import { type Fixture, G, openFixture, to } from './planner-fixture.js';

let fixture: Fixture | undefined;
let store: Store;
let service: PlanService;

function fill(volumes: [string, string, number, number | null][], used: Record<string, number> = {}) {
  fixture = openFixture(volumes, used);
  store = fixture.store;
  service = new PlanService(store);
  return fixture.ids;
}

afterEach(() => {
  fixture?.close();
  fixture = undefined;
});

describe('plan service', () => {
  it('creates, adds, shows, lists, removes and deletes plans offline, in the bridge shapes', () => {
    fill([
      ['db1', 'lab-1', 2, 1],
      ['web', 'lab-1', 3, null],
    ]);
    const empty = service.create('refresh');
    expect(planSchema.parse(empty)).toEqual(empty);
    expect(empty).toMatchObject({ name: 'refresh', feasible: true, steps: [], running: false });
    expect(empty.inventoryAsOf).toBe('2026-11-25T10:00:00.000Z');

    service.addStep('refresh', { volume: 'db1', to: to('lab-2'), thin: true });
    const plan = service.addStep('refresh', { volume: 'web', to: to('lab-3') });
    expect(bridgeMethods['plan.addStep'].result.parse(plan)).toBeTruthy();
    expect(plan.steps.map((s) => [s.id, s.order, s.volume, s.thin, s.reserveBytes / G, s.state])).toEqual([
      ['1', 1, 'db1', true, 1, 'pending'],
      ['2', 2, 'web', false, 3, 'pending'],
    ]);
    expect(plan.steps[0].from).toEqual(to('lab-1'));
    expect(plan.steps[0].capacity).toEqual([
      { appliance: 'lab-1', pool: 'pool', capacity: 10 * G, usedBefore: 5 * G, usedAfter: 3 * G },
      { appliance: 'lab-2', pool: 'pool', capacity: 10 * G, usedBefore: 0, usedAfter: 1 * G },
    ]);
    expect(plan.pools.map((p) => [p.appliance, p.usedBefore / G, p.usedAfter / G])).toEqual([
      ['lab-1', 5, 0],
      ['lab-2', 0, 1],
      ['lab-3', 0, 3],
    ]);
    expect(plan.estimate.basis).toBe('guess');
    expect(plan.warnings.join('\n')).toMatch(/no throughput measured yet for lab-1 -> lab-2, lab-1 -> lab-3/);

    const [summary] = service.list();
    expect(planSummarySchema.parse(summary)).toMatchObject({ name: 'refresh', steps: 2, lastRun: null });

    const after = service.removeStep('refresh', '1');
    expect(after.steps.map((s) => s.id)).toEqual(['2']);
    // Ids are not reused: the next step is 3.
    expect(service.addStep('refresh', { volume: 'db1', to: to('lab-3') }).steps.map((s) => s.id)).toEqual([
      '2',
      '3',
    ]);

    service.delete('refresh');
    expect(service.list()).toEqual([]);
    expect(store.audit.list({}).some((e) => e.action === 'plan.step.add')).toBe(true);
  });

  it('refuses bad names, unknown volumes and pools, a volume twice, and staging hops as steps', () => {
    fill([['db1', 'lab-1', 2, null]]);
    expect(() => service.create('Bad Name')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    service.create('p');
    expect(() => service.create('p')).toThrow(expect.objectContaining({ code: 'ERR_ALREADY_EXISTS' }));
    expect(() => service.show('nope')).toThrow(/no plan named nope: see ferry plan list/);
    expect(() => service.addStep('p', { volume: 'ghost', to: to('lab-2') })).toThrow(
      /no volume ghost in the inventory/,
    );
    expect(() => service.addStep('p', { volume: 'db1', to: { appliance: 'lab-9', pool: 'pool' } })).toThrow(
      expect.objectContaining({
        code: 'ERR_NOT_FOUND',
        message: expect.stringMatching(/no pool lab-9\/pool/),
      }),
    );
    service.addStep('p', { volume: 'db1', to: to('lab-2') });
    expect(() => service.addStep('p', { volume: 'db1', to: to('lab-3') })).toThrow(
      /plan p already moves db1 \(step 1, to lab-2\/pool\): remove it first with ferry plan remove p 1/,
    );
    expect(() => service.removeStep('p', '7')).toThrow(/plan p has no step 7 \(its steps: 1\)/);
    expect(() => service.removeStep('p', '1.stage')).toThrow(/staging hop .* remove step 1 instead/);
  });

  it('warns and skips a step whose volume is already on its target', () => {
    fill([['db1', 'lab-2', 2, null]]);
    service.create('p');
    const plan = service.addStep('p', { volume: 'db1', to: to('lab-2') });
    expect(plan.feasible).toBe(true);
    expect(plan.steps[0]).toMatchObject({ state: 'skipped', estimate: { seconds: 0 } });
    expect(plan.warnings).toContain('step 1: db1 is already on lab-2/pool; skipped');
  });

  it('proposes staging for a swap of two full pools and marks the impossible infeasible', () => {
    fill(
      [
        ['a', 'lab-1', 6, null],
        ['b', 'lab-2', 6, null],
      ],
      { 'lab-1': 4, 'lab-2': 4, 'lab-3': 2 },
    );
    service.create('swap');
    service.addStep('swap', { volume: 'a', to: to('lab-2') });
    const plan = service.addStep('swap', { volume: 'b', to: to('lab-1') });
    expect(plan.feasible).toBe(true);
    expect(plan.staging).toEqual([
      { volume: 'a', via: to('lab-3'), reason: expect.stringMatching(/too full to swap/) },
    ]);
    expect(plan.steps.map((s) => [s.id, s.staging, s.from.appliance, s.to.appliance])).toEqual([
      ['1.stage', true, 'lab-1', 'lab-3'],
      ['2', false, 'lab-2', 'lab-1'],
      ['1', false, 'lab-3', 'lab-2'],
    ]);

    service.create('nope');
    service.addStep('nope', { volume: 'a', to: to('lab-2') });
    const stuck = service.show('nope');
    expect(stuck.feasible).toBe(false);
    expect(stuck.steps[0].reason).toBe(
      'pool lab-2/pool lacks 6.0G for a (needs 6.0G, 0B free after the steps that can run)',
    );
    expect(stuck.warnings[0]).toMatch(/^1 of 1 steps cannot run: step 1: pool lab-2\/pool lacks 6\.0G/);
  });

  it('estimates from measured throughput between the same appliances, scaled by allocated bytes', () => {
    const ids = fill([
      ['db1', 'lab-1', 8, 2],
      ['web', 'lab-1', 1, null],
    ]);
    for (const bps of [200e6, 250e6, 300e6])
      store.throughput.record(ids.get('lab-1')!, ids.get('lab-2')!, bps);
    service.create('p', { throttleBps: 100e6 });
    service.addStep('p', { volume: 'db1', to: to('lab-2') });
    let plan = service.show('p');
    // 2 GiB allocated at min(250 MB/s measured, 100 MB/s throttle).
    expect(plan.steps[0].estimate).toEqual({ seconds: 21.5, basis: 'measured', rateBps: 100e6 });
    expect(plan.estimate.basis).toBe('measured');
    expect(plan.warnings.some((w) => /a guess/.test(w))).toBe(false);

    service.addStep('p', { volume: 'web', to: to('lab-3') });
    plan = service.show('p', 2);
    expect(plan.steps[1].estimate).toMatchObject({ basis: 'guess', rateBps: 100e6, seconds: 10.7 });
    expect(plan.estimate.basis).toBe('guess');
    // Two moves at once: the plan takes as long as the longer one.
    expect(plan.estimate.seconds).toBe(21.5);
    expect(service.show('p', 1).estimate.seconds).toBe(32.2);
  });

  it('round-trips a plan through export and import', () => {
    fill([
      ['db1', 'lab-1', 2, 1],
      ['web', 'lab-2', 3, null],
    ]);
    service.create('p', { throttleBps: 50e6, verify: true });
    service.addStep('p', { volume: 'db1', to: to('lab-3'), thin: true });
    service.addStep('p', { volume: 'web', to: to('lab-1') });
    const json = service.export('p');
    const doc = JSON.parse(json);
    expect(doc).toMatchObject({
      format: 'ferry-plan',
      version: 1,
      name: 'p',
      options: { throttleBps: 50e6 },
    });
    expect(() => service.import(json)).toThrow(/a plan named p already exists: import it with --name NEW/);
    const copy = service.import(json, 'p2');
    const original = service.show('p');
    const strip = (plan: typeof copy) => plan.steps.map(({ moveId, ...s }) => s);
    expect(strip(copy)).toEqual(strip(original));
    expect(service.export('p2').replace(/"exportedAt": ".*"/, '')).toEqual(
      json.replace('"name": "p"', '"name": "p2"').replace(/"exportedAt": ".*"/, ''),
    );

    expect(() => service.import('{"format":"ferry-plan","version":2,"name":"x","steps":[]}')).toThrow(
      /not a Ferry plan export: version: must be 1/,
    );
    expect(() => service.import('not json')).toThrow(/the plan is not JSON/);
    const foreign = { ...doc, name: 'f', steps: [{ volume: 'elsewhere', to: to('lab-1') }] };
    expect(() => service.import(JSON.stringify(foreign))).toThrow(
      /volumes this inventory does not have: elsewhere/,
    );
  });
});

describe('estimates', () => {
  it('is measured when the link was measured, a guess at 100 MB/s otherwise, capped by a throttle', () => {
    expect(estimateCopy(1e9, 500e6, null)).toEqual({ seconds: 2, basis: 'measured', rateBps: 500e6 });
    expect(estimateCopy(1e9, 500e6, 250e6)).toEqual({ seconds: 4, basis: 'measured', rateBps: 250e6 });
    expect(estimateCopy(1e9, undefined, null)).toEqual({
      seconds: 10,
      basis: 'guess',
      rateBps: GUESS_RATE_BPS,
    });
    expect(estimateCopy(1e9, 0, null).basis).toBe('guess');
  });
});
