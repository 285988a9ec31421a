// The 'plan.*' bridge methods over a real store and a stand-in for the core's moves: results match the
// contract, 'plan.run' resolves once the run started and reports its end through 'plan.progress'.
import { afterEach, describe, expect, it } from 'vitest';
import { type PlannerCore, planBridgeMethods } from '../../main/core/planner/plan-bridge.js';
import type { BridgeEvent } from '../../shared/bridge/events.js';
import { bridgeMethods } from '../../shared/bridge/methods.js';
import type { Move } from '../../shared/bridge/model.js';
import { applyMove, type Fixture, openFixture, setOnline, to } from './planner-fixture.js';

let fixture: Fixture | undefined;
afterEach(() => {
  fixture?.close();
  fixture = undefined;
});

function coreOf(f: Fixture, events: BridgeEvent[]): PlannerCore {
  let n = 0;
  const targets = new Map<string, string>();
  return {
    store: f.store,
    refresh: async () => ({}),
    emit: (e) => events.push(e),
    moves: {
      reconcile: async () => {},
      start: async (params) => {
        const id = `bridge-move-${++n}`;
        targets.set(id, `${params.volume}>${params.to.appliance}`);
        return { id } as Move;
      },
      follow: async (id) => {
        const [volume, appliance] = targets.get(id)!.split('>');
        await new Promise((r) => setTimeout(r, 5));
        applyMove(f, volume, appliance);
        return { id, phase: 'done', error: null } as unknown as Move;
      },
    },
  };
}

describe('plan bridge methods', () => {
  it('answers in the contract shapes and runs a plan in the background', async () => {
    fixture = openFixture([
      ['va', 'lab-1', 1, null],
      ['vb', 'lab-2', 1, null],
    ]);
    setOnline(fixture);
    const events: BridgeEvent[] = [];
    const methods = planBridgeMethods(coreOf(fixture, events));
    const created = await methods['plan.create']({ name: 'p' });
    expect(bridgeMethods['plan.create'].result.parse(created)).toBeTruthy();
    await methods['plan.addStep']({ name: 'p', volume: 'va', to: to('lab-3'), thin: false });
    const plan = await methods['plan.addStep']({ name: 'p', volume: 'vb', to: to('lab-3'), thin: true });
    expect(bridgeMethods['plan.addStep'].result.parse(plan).steps).toHaveLength(2);
    expect(bridgeMethods['plan.list'].result.parse(await methods['plan.list']({}))).toHaveLength(1);
    const { json } = await methods['plan.export']({ name: 'p' });
    await methods['plan.delete']({ name: 'p' });
    const imported = await methods['plan.import']({ json });
    expect(imported.steps.map((s) => s.volume)).toEqual(['va', 'vb']);

    const started = await methods['plan.run']({ name: 'p', concurrency: 2 });
    expect(started.running).toBe(true);
    await expect
      .poll(() => events.at(-1))
      .toMatchObject({ type: 'plan.progress', payload: { state: 'done' } });
    const shown = await methods['plan.show']({ name: 'p' });
    expect(shown.steps.map((s) => s.state)).toEqual(['done', 'done']);
    expect(shown.running).toBe(false);
  });

  it('rejects plan.run with the reason when the re-check fails', async () => {
    fixture = openFixture([['va', 'lab-1', 1, null]]);
    const methods = planBridgeMethods(coreOf(fixture, []));
    await methods['plan.create']({ name: 'p' });
    await methods['plan.addStep']({ name: 'p', volume: 'va', to: to('lab-2'), thin: false });
    await expect(methods['plan.run']({ name: 'p', concurrency: 1 })).rejects.toMatchObject({
      code: 'ERR_UNREACHABLE',
    });
  });
});
