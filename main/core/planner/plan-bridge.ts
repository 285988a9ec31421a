// The planner behind the bridge's 'plan.*' methods and the CLI's `plan run`: what the console core
// provides (store, inventory refresh, orchestrated moves, events) turned into the planner's needs.
// The core spreads planBridgeMethods(this) into its method table.
import type { BridgeEvent } from '../../../shared/bridge/events.js';
import type { BridgeMethodImplementations } from '../../../shared/bridge/handler.js';
import { toFerryError } from '../../../shared/errors.js';
import type { MoveOrchestrator } from '../console/move-orchestrator.js';
import type { Store } from '../store/store.js';
import { inventorySettler } from './inventory-settle.js';
import { consoleMoveRunner } from './move-runner.js';
import { type RunDeps, type RunOptions, runPlan } from './plan-runner.js';
import { PlanService } from './plan-service.js';

/** The parts of ConsoleCore the planner uses. */
export interface PlannerCore {
  readonly store: Store;
  readonly moves: Pick<MoveOrchestrator, 'start' | 'follow' | 'reconcile'>;
  refresh(appliance?: string): Promise<unknown>;
  emit(event: BridgeEvent): void;
}

export function runDepsOf(core: PlannerCore): RunDeps {
  return {
    store: core.store,
    // Moves an earlier run left going are brought up to date first, then every agent is asked again.
    refresh: async () => {
      await core.moves.reconcile();
      await core.refresh();
    },
    moves: consoleMoveRunner(core.moves),
    settle: inventorySettler(core.store, (appliance) => core.refresh(appliance)),
  };
}

type PlanMethod =
  | 'plan.list'
  | 'plan.create'
  | 'plan.show'
  | 'plan.addStep'
  | 'plan.removeStep'
  | 'plan.delete'
  | 'plan.run'
  | 'plan.export'
  | 'plan.import';

export function planBridgeMethods(core: PlannerCore): Pick<BridgeMethodImplementations, PlanMethod> {
  const service = new PlanService(core.store);
  return {
    'plan.list': async () => service.list(),
    'plan.create': async ({ name }) => service.create(name),
    'plan.show': async ({ name }) => service.show(name),
    'plan.addStep': async ({ name, volume, to, thin }) => service.addStep(name, { volume, to, thin }),
    'plan.removeStep': async ({ name, step }) => service.removeStep(name, step),
    'plan.delete': async ({ name }) => {
      service.delete(name);
      return { ok: true };
    },
    'plan.export': async ({ name }) => ({ json: service.export(name) }),
    'plan.import': async ({ json }) => service.import(json),
    'plan.run': ({ name, concurrency }) => startRun(core, service, name, { concurrency }),
  };
}

/**
 * Resolves once the re-check passed and the run started (or rejects with why it did not); the run
 * goes on in the background and reports through 'plan.progress' events, its end included.
 */
function startRun(core: PlannerCore, service: PlanService, name: string, options: RunOptions) {
  return new Promise<ReturnType<PlanService['show']>>((resolve, reject) => {
    let started = false;
    const run = runPlan(runDepsOf(core), name, {
      ...options,
      observer: {
        onPlan: (progress) => {
          core.emit({ type: 'plan.progress', payload: progress });
          if (!started) {
            started = true;
            resolve(service.show(name, options.concurrency ?? 1));
          }
        },
      },
    });
    run.then(
      (result) => {
        if (!started) resolve(result.plan);
      },
      (err) => {
        if (!started) return reject(err);
        core.emit({
          type: 'plan.progress',
          payload: { plan: name, state: 'failed', steps: [], message: toFerryError(err).message },
        });
      },
    );
  });
}
