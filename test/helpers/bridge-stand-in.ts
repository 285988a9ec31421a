// A scripted stand-in of the console core, for the renderer's browser tests only: it answers the bridge
// contract from memory (appliances, pools, many volumes) and plays a move's progress at 4 updates a
// second. The real core is main/core/; the end-to-end tests drive that one with a real lab.

import type {
  Appliance,
  BridgeEvent,
  BridgeEventListener,
  BridgeHandler,
  MethodName,
  Move,
  Plan,
  PlanStepState,
  Pool,
  PoolRef,
  ResultOf,
  ValidParamsOf,
  Volume,
} from '../../shared/bridge/index.js';
import { FerryError } from '../../shared/errors.js';

const GiB = 1024 ** 3;

export interface StandInOptions {
  volumes?: number;
  /** Start with an empty store (first-run screen). */
  empty?: boolean;
  /** Progress updates of a move, at 250 ms each. */
  moveSteps?: number;
}

export interface StandInCore {
  handler: BridgeHandler;
  calls: Array<{ method: string; params: unknown }>;
  stop(): void;
}

export function scriptedStandInCore(options: StandInOptions = {}): StandInCore {
  const now = () => new Date().toISOString();
  const listeners = new Set<BridgeEventListener>();
  const calls: StandInCore['calls'] = [];
  const timers = new Set<ReturnType<typeof setInterval>>();
  const emit = (event: BridgeEvent) => {
    for (const l of listeners) l(event);
  };

  let appliances: Appliance[] = [];
  let pools: Pool[] = [];
  let volumes: Volume[] = [];
  const moves = new Map<string, Move>();
  const plans = new Map<string, Array<{ id: string; volume: string; to: PoolRef }>>();

  function appliance(name: string, host: string): Appliance {
    return {
      name,
      host,
      port: 22,
      user: 'root',
      status: 'online',
      message: null,
      lastSeen: now(),
      agentVersion: '0.1.0',
      latencyMs: 0.8,
      hostKey: null,
      lab: true,
    };
  }

  function populate(count: number) {
    appliances = [
      appliance('lab-1', '127.0.0.1'),
      appliance('lab-2', '127.0.0.1'),
      appliance('lab-3', '127.0.0.1'),
    ];
    appliances[2] = {
      ...appliances[2],
      status: 'offline',
      message: 'agent not running',
      lastSeen: '2026-11-25T09:00:00.000Z',
    };
    pools = appliances.map((a, i) => ({
      appliance: a.name,
      name: 'pool',
      kind: 'dir' as const,
      capacity: 10 * GiB * 1024,
      used: [6, 2, 0.5][i] * GiB * 1024,
      reserved: 0,
      lastSeen: now(),
    }));
    volumes = Array.from({ length: count }, (_, i) => {
      const home = i % 2 === 0 ? 'lab-1' : 'lab-2';
      return {
        name: `vol-${String(i + 1).padStart(5, '0')}`,
        uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        size: (1 + (i % 8)) * GiB,
        allocated: Math.round((1 + (i % 8)) * GiB * 0.4),
        appliance: home,
        pool: 'pool',
        lv: `lv-${i + 1}`,
        epoch: 1 + (i % 3),
        state: 'ready' as const,
        moveId: null,
        lastSeen: now(),
      };
    });
  }
  if (!options.empty) populate(options.volumes ?? 10_000);

  const inventory = () => ({ appliances, pools, volumes, asOf: now() });
  const findVolume = (name: string) => {
    const v = volumes.find((x) => x.name === name);
    if (!v) throw new FerryError('ERR_NOT_FOUND', `no volume "${name}": check the name in the volume list`);
    return v;
  };
  const findPool = (ref: PoolRef) => {
    const p = pools.find((x) => x.appliance === ref.appliance && x.name === ref.pool);
    if (!p) throw new FerryError('ERR_NOT_FOUND', `no pool ${ref.appliance}/${ref.pool}`);
    return p;
  };
  const setVolume = (next: Volume) => {
    volumes = volumes.map((v) => (v.name === next.name ? next : v));
    emit({
      type: 'inventory.changed',
      payload: {
        full: false,
        appliances: [],
        pools: [],
        volumes: [next],
        removed: { appliances: [], pools: [], volumes: [] },
        asOf: now(),
      },
    });
  };

  function runMove(move: Move, onDone?: () => void) {
    const steps = options.moveSteps ?? 12;
    let step = 0;
    const timer = setInterval(() => {
      step++;
      const done = step >= steps;
      const fraction = Math.min(1, step / (steps - 2));
      const phase = done
        ? 'done'
        : step >= steps - 1
          ? 'cutover'
          : step >= steps - 2 && move.options.verify
            ? 'verifying'
            : 'copying';
      const current: Move = {
        ...move,
        phase,
        percent: done ? 100 : Math.round(fraction * 1000) / 10,
        bytesDone: Math.round(fraction * move.bytesTotal),
        rateBps: 180e6 + Math.sin(step) * 40e6,
        etaSeconds: Math.max(0, (steps - step) * 0.25),
        mirroredWrites: step * 17,
        cutoverPauseMs: done ? 42 : null,
        endedAt: done ? now() : null,
      };
      moves.set(move.id, current);
      emit({ type: 'move.progress', payload: current });
      if (done) {
        clearInterval(timer);
        timers.delete(timer);
        const v = findVolume(move.volume);
        setVolume({
          ...v,
          appliance: move.to.appliance,
          pool: move.to.pool,
          epoch: v.epoch + 1,
          state: 'ready',
          moveId: null,
        });
        onDone?.();
      }
    }, 250);
    timers.add(timer);
  }

  function startMove(
    volume: string,
    to: PoolRef,
    options: { throttleBps: number | null; verify: boolean; keepSource: boolean },
    onDone?: () => void,
  ): Move {
    const v = findVolume(volume);
    if (v.state !== 'ready') throw new FerryError('ERR_VOLUME_BUSY', `${v.name} is already moving`);
    const move: Move = {
      id: `move-${moves.size + 1}`,
      volume: v.name,
      from: { appliance: v.appliance, pool: v.pool },
      to,
      phase: 'copying',
      paused: false,
      hostsFirst: false,
      percent: 0,
      bytesDone: 0,
      bytesTotal: v.size,
      rateBps: 0,
      etaSeconds: null,
      mirroredWrites: 0,
      cutoverPauseMs: null,
      options: { throttleBps: options.throttleBps, verify: options.verify, keepSource: options.keepSource },
      startedAt: now(),
      endedAt: null,
      error: null,
    };
    moves.set(move.id, move);
    setVolume({ ...v, state: 'moving', moveId: move.id });
    runMove(move, onDone);
    return move;
  }

  /** Runs a plan's steps one after the other, reporting 'plan.progress' as a core would. */
  function runPlan(name: string): void {
    const steps = plans.get(name) ?? [];
    const states = steps.map((s) => ({
      id: s.id,
      state: 'pending' as PlanStepState,
      moveId: null as string | null,
      error: null,
    }));
    const report = (state: 'running' | 'done') =>
      emit({
        type: 'plan.progress',
        payload: {
          plan: name,
          state,
          steps: states.map((x) => ({ ...x })),
          message: state === 'done' ? `Plan ${name} done.` : null,
        },
      });
    const next = (i: number) => {
      if (i >= steps.length) {
        report('done');
        return;
      }
      const move = startMove(
        steps[i].volume,
        steps[i].to,
        { throttleBps: null, verify: false, keepSource: false },
        () => {
          states[i].state = 'done';
          next(i + 1);
        },
      );
      states[i].state = 'running';
      states[i].moveId = move.id;
      report('running');
    };
    next(0);
  }

  function planView(name: string): Plan {
    const steps = plans.get(name);
    if (!steps) throw new FerryError('ERR_NOT_FOUND', `no plan "${name}"`);
    const used = new Map(pools.map((p) => [`${p.appliance}/${p.name}`, p.used]));
    const before = new Map(used);
    const planSteps = steps.map((s, i) => {
      const v = findVolume(s.volume);
      const fromKey = `${v.appliance}/${v.pool}`;
      const toKey = `${s.to.appliance}/${s.to.pool}`;
      const capacity = [fromKey, toKey].map((key) => {
        const p = pools.find((x) => `${x.appliance}/${x.name}` === key)!;
        const usedBefore = used.get(key)!;
        const usedAfter = usedBefore + (key === toKey ? v.size : -v.size);
        return { appliance: p.appliance, pool: p.name, capacity: p.capacity, usedBefore, usedAfter };
      });
      for (const c of capacity) used.set(`${c.appliance}/${c.pool}`, c.usedAfter);
      return {
        id: s.id,
        order: i + 1,
        volume: s.volume,
        from: { appliance: v.appliance, pool: v.pool },
        to: s.to,
        thin: false,
        sizeBytes: v.size,
        allocatedBytes: v.allocated,
        reserveBytes: v.size,
        estimate: { seconds: v.size / 150e6, basis: 'guess' as const, rateBps: 150e6 },
        staging: false,
        feasible: true,
        reason: null,
        capacity,
        state: 'pending' as const,
        moveId: null,
        error: null,
      };
    });
    const touched = [...new Set(planSteps.flatMap((s) => s.capacity.map((c) => `${c.appliance}/${c.pool}`)))];
    return {
      name,
      feasible: true,
      steps: planSteps,
      pools: touched.map((key) => {
        const p = pools.find((x) => `${x.appliance}/${x.name}` === key)!;
        return {
          appliance: p.appliance,
          pool: p.name,
          capacity: p.capacity,
          usedBefore: before.get(key)!,
          usedAfter: used.get(key)!,
        };
      }),
      estimate: {
        seconds: planSteps.reduce((t, s) => t + (s.estimate.seconds ?? 0), 0),
        basis: 'guess',
        rateBps: null,
      },
      warnings:
        planSteps.length > 0 ? ['No move measured between these appliances yet: estimates are guesses.'] : [],
      staging: [],
      inventoryAsOf: now(),
      running: false,
    };
  }

  const methods: { [M in MethodName]?: (params: ValidParamsOf<M>) => ResultOf<M> } = {
    'console.info': () => ({ version: 'stand-in', storePath: '/nowhere' }),
    'inventory.get': inventory,
    'inventory.refresh': inventory,
    'lab.status': () => ({
      state: appliances.length ? 'up' : 'absent',
      appliances: appliances.map((a) => a.name),
      dir: null,
    }),
    'lab.up': (p) => {
      populate(0);
      appliances = appliances.slice(0, p.appliances).map((a) => ({ ...a, status: 'online', message: null }));
      pools = pools.filter((pool) => appliances.some((a) => a.name === pool.appliance));
      return { state: 'up', appliances: appliances.map((a) => a.name), dir: '/tmp/lab' };
    },
    'move.list': () => [...moves.values()],
    'move.preflight': (p) => {
      const v = findVolume(p.volume);
      const target = findPool(p.to);
      const free = target.capacity - target.used - target.reserved;
      const online = appliances.find((a) => a.name === p.to.appliance)?.status === 'online';
      return {
        ok: online && free >= v.size,
        checks: [
          {
            id: 'reachable',
            ok: online,
            message: online
              ? `${p.to.appliance} is reachable`
              : `${p.to.appliance} is offline: start it, or pick another pool`,
          },
          {
            id: 'space',
            ok: free >= v.size,
            message: `${p.to.appliance}/${p.to.pool} has room for ${v.name}`,
          },
          { id: 'busy', ok: v.state === 'ready', message: `${v.name} is not moving` },
        ],
        estimate: { seconds: v.size / 180e6, basis: 'guess', rateBps: 180e6 },
        reserveBytes: v.size,
        targetFreeBefore: free,
        targetFreeAfter: free - v.size,
      };
    },
    'move.start': (p) => startMove(p.volume, p.to, p),
    'plan.list': () =>
      [...plans.keys()].map((name) => ({
        name,
        steps: plans.get(name)!.length,
        updatedAt: now(),
        lastRun: null,
      })),
    'plan.create': (p) => {
      if (plans.has(p.name))
        throw new FerryError('ERR_ALREADY_EXISTS', `plan "${p.name}" exists: choose another name`);
      plans.set(p.name, []);
      return planView(p.name);
    },
    'plan.show': (p) => planView(p.name),
    'plan.run': (p) => {
      runPlan(p.name);
      return { ...planView(p.name), running: true };
    },
    'plan.addStep': (p) => {
      findVolume(p.volume);
      const steps = plans.get(p.name);
      if (!steps) throw new FerryError('ERR_NOT_FOUND', `no plan "${p.name}"`);
      steps.push({ id: `s${steps.length + 1}`, volume: p.volume, to: p.to });
      return planView(p.name);
    },
    'appliance.scanHostKey': (p) => ({
      host: p.host,
      port: p.port,
      keyType: 'ssh-ed25519',
      fingerprint: 'SHA256:u3yJ0V0m9r5r0bqQ2P8X3mM1Yt8c9kq7Zr8dI5m2b1A',
      knownAs: null,
    }),
    'appliance.add': (p) => {
      if (p.acceptHostKey !== 'SHA256:u3yJ0V0m9r5r0bqQ2P8X3mM1Yt8c9kq7Zr8dI5m2b1A') {
        throw new FerryError('ERR_HOST_KEY', 'host key not accepted', {
          fingerprint: 'SHA256:u3yJ0V0m9r5r0bqQ2P8X3mM1Yt8c9kq7Zr8dI5m2b1A',
        });
      }
      if (appliances.some((a) => a.name === p.name)) {
        throw new FerryError(
          'ERR_ALREADY_EXISTS',
          `an appliance named "${p.name}" exists: choose another name`,
        );
      }
      const added = { ...appliance(p.name, p.host), lab: false, hostKey: p.acceptHostKey };
      appliances = [...appliances, added];
      return added;
    },
    'appliance.check': (p) => ({
      reachable: true,
      agentVersion: '0.1.0',
      latencyMs: 2.4,
      message: `${p.name} answers`,
    }),
    'pool.add': (p) => {
      const pool: Pool = {
        appliance: p.appliance,
        name: p.name,
        kind: p.dir ? 'dir' : 'device',
        capacity: p.capacity ?? 100 * GiB,
        used: 0,
        reserved: 0,
        lastSeen: now(),
      };
      pools = [...pools, pool];
      return pool;
    },
    'volume.history': (p) => ({
      volume: p.volume,
      epochs: [{ epoch: 1, appliance: 'lab-1', pool: 'pool', lv: 'lv-1', at: now(), reason: 'created' }],
      audit: [{ at: now(), actor: 'admin', action: 'volume.create', detail: `${p.volume} on lab-1/pool` }],
    }),
  };

  const handler: BridgeHandler = {
    async call(method, params) {
      calls.push({ method, params });
      const impl = methods[method] as ((p: unknown) => unknown) | undefined;
      if (!impl) throw new FerryError('ERR_UNSUPPORTED', `${method} is not part of this stand-in`);
      return impl(params) as never;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    handler,
    calls,
    stop() {
      for (const t of timers) clearInterval(t);
      timers.clear();
    },
  };
}
