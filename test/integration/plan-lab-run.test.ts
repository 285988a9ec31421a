// Issue 5's promise, end to end: a plan made with every appliance offline (lab down) from the last
// inventory, then run against the real lab; every pool's usage and every volume's bytes are checked.
import { afterEach, describe, expect, it } from 'vitest';
import { runDepsOf } from '../../main/core/planner/plan-bridge.js';
import { runPlan } from '../../main/core/planner/plan-runner.js';
import { PlanService } from '../../main/core/planner/plan-service.js';
import { type ConsoleLab, qemuIo, startConsoleLab } from '../helpers/console-lab.js';

const MiB = 1024 * 1024;

describe('plan: made offline, run in the lab', () => {
  let lab: ConsoleLab | undefined;
  afterEach(async () => {
    await lab?.destroy();
    lab = undefined;
  });

  it('swaps two volumes between two full pools through a third, and every byte arrives', async () => {
    lab = await startConsoleLab({ appliances: 3, poolSize: 256 * MiB });
    const { core } = lab;
    await core.createVolume({ name: 'alpha', size: 160 * MiB, on: { appliance: 'lab-1', pool: 'pool' } });
    await core.createVolume({ name: 'beta', size: 160 * MiB, on: { appliance: 'lab-2', pool: 'pool' } });
    await qemuIo(lab.volumeUrl('alpha'), ['write -P 0xa1 0 1M', 'write -P 0xa2 159M 1M']);
    await qemuIo(lab.volumeUrl('beta'), ['write -P 0xb1 0 1M', 'write -P 0xb2 100M 2M']);

    await core.labDown();
    expect(core.inventory().appliances.every((a) => a.status === 'offline')).toBe(true);
    const plans = new PlanService(core.store);
    plans.create('swap');
    plans.addStep('swap', { volume: 'alpha', to: { appliance: 'lab-2', pool: 'pool' } });
    const offline = plans.addStep('swap', { volume: 'beta', to: { appliance: 'lab-1', pool: 'pool' } });
    // Neither pool has room for the other's volume: the planner stages one through lab-3.
    expect(offline.feasible).toBe(true);
    expect(offline.staging.length).toBeGreaterThan(0);
    expect(offline.staging[0].via).toEqual({ appliance: 'lab-3', pool: 'pool' });
    expect(offline.inventoryAsOf).not.toBeNull();

    await core.labUp({});
    const result = await runPlan(runDepsOf(core), 'swap', { concurrency: 2 });
    expect(result.state, result.message).toBe('done');

    const inventory = (await core.refresh()).inventory;
    const where = (name: string) => inventory.volumes.find((v) => v.name === name);
    expect(where('alpha')).toMatchObject({ appliance: 'lab-2', pool: 'pool' });
    expect(where('beta')).toMatchObject({ appliance: 'lab-1', pool: 'pool' });
    const used = Object.fromEntries(inventory.pools.map((p) => [p.appliance, p.used]));
    expect(used).toEqual({ 'lab-1': 160 * MiB, 'lab-2': 160 * MiB, 'lab-3': 0 });
    await qemuIo(lab.volumeUrl('alpha'), ['read -P 0xa1 0 1M', 'read -P 0xa2 159M 1M', 'read -P 0 1M 158M']);
    await qemuIo(lab.volumeUrl('beta'), ['read -P 0xb1 0 1M', 'read -P 0xb2 100M 2M']);
  });
});
