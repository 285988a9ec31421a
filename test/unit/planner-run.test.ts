// `plan run` against a real store with an injected MoveRunner that applies each finished move to the
// inventory: N moves at once in a safe order, the re-check before anything moves (grown volume, shrunk
// pool, offline appliance, no longer fits), failures, stop and resume, attaching to a move left running,
// and the maintenance window.
import { afterEach, describe, expect, it } from 'vitest';
import type { MoveRequest, MoveRunner } from '../../main/core/planner/move-runner.js';
import { runPlan } from '../../main/core/planner/plan-runner.js';
import { PlanService } from '../../main/core/planner/plan-service.js';
import { parseWindow, windowState } from '../../main/core/planner/run-window.js';
import type { Move } from '../../shared/bridge/model.js';
import { applyMove, type Fixture, G, openFixture, setOnline, to, uuidOf } from './planner-fixture.js';

let fixture: Fixture | undefined;
afterEach(() => {
  fixture?.close();
  fixture = undefined;
});

function open(volumes: [string, string, number, number | null][], used: Record<string, number> = {}) {
  fixture = openFixture(volumes, used);
  setOnline(fixture);
  return { f: fixture, service: new PlanService(fixture.store) };
}

let moveCount = 0;

/** Moves that take `msPerG` per GiB, then show up in the inventory; `fail` names volumes whose move fails. */
class FakeMoves implements MoveRunner {
  readonly log: string[] = [];
  readonly started: MoveRequest[] = [];
  readonly waited: string[] = [];
  active = 0;
  maxActive = 0;

  constructor(
    private readonly f: Fixture,
    private readonly options: { msPerG?: number; fail?: string[] } = {},
  ) {}

  async start(request: MoveRequest): Promise<string> {
    const id = `m${++moveCount}`;
    const vv = this.f.store.volumes.require(request.volume);
    this.f.store.moves.create({
      id,
      vvUuid: vv.uuid,
      from: vv.mapping,
      to: { ...request.to, lv: vv.mapping.lv },
    });
    this.started.push(request);
    this.log.push(`start ${request.volume}`);
    return id;
  }

  async wait(moveId: string, onProgress: (move: Move) => void) {
    this.waited.push(moveId);
    const move = this.f.store.moves.require(moveId);
    const vv = this.f.store.volumes.require(move.vvUuid);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    onProgress(progressOf(moveId, vv.name, move.from, move.to, vv.sizeBytes));
    await new Promise((r) => setTimeout(r, ((this.options.msPerG ?? 5) * vv.sizeBytes) / G));
    this.active--;
    if (this.options.fail?.includes(vv.name)) {
      this.f.store.moves.fail(moveId, { code: 'ERR_IO', message: 'target disk went away' });
      this.log.push(`fail ${vv.name}`);
      return { outcome: 'failed' as const, error: { code: 'ERR_IO', message: 'target disk went away' } };
    }
    applyMove(this.f, vv.name, move.to.appliance);
    this.f.store.moves.setPhase(moveId, 'done');
    this.log.push(`end ${vv.name}`);
    return 'done' as const;
  }
}

function progressOf(
  id: string,
  volume: string,
  from: { appliance: string; pool: string },
  target: { appliance: string; pool: string },
  bytes: number,
): Move {
  return {
    id,
    volume,
    from: { appliance: from.appliance, pool: from.pool },
    to: { appliance: target.appliance, pool: target.pool },
    phase: 'copying',
    paused: false,
    hostsFirst: false,
    percent: 0,
    bytesDone: 0,
    bytesTotal: bytes,
    rateBps: 0,
    etaSeconds: null,
    mirroredWrites: 0,
    cutoverPauseMs: null,
    options: { throttleBps: null, verify: false, keepSource: false },
    startedAt: new Date().toISOString(),
    endedAt: null,
    error: null,
  };
}

const stepStates = (f: Fixture, name: string) =>
  f.store.plans.byName(name)!.steps.map((s) => [s.position + 1, s.status]);

describe('plan run', () => {
  it('runs a chain and independent steps with 3 moves at once, never overfilling a pool', async () => {
    const { f, service } = open(
      [
        ['va', 'lab-1', 4, null],
        ['vb', 'lab-2', 4, null],
        ['vx', 'lab-1', 1, null],
        ['vy', 'lab-1', 1, null],
      ],
      { 'lab-2': 6, 'lab-3': 2 },
    );
    service.create('p');
    service.addStep('p', { volume: 'va', to: to('lab-2') });
    service.addStep('p', { volume: 'vb', to: to('lab-3') });
    service.addStep('p', { volume: 'vx', to: to('lab-3') });
    service.addStep('p', { volume: 'vy', to: to('lab-3') });
    const moves = new FakeMoves(f);
    const progress: string[] = [];
    const result = await runPlan({ store: f.store, refresh: async () => {}, moves }, 'p', {
      concurrency: 3,
      observer: {
        onPlan: (p) => progress.push(p.state),
        onMove: (hop, m) => progress.push(`${hop.id}:${m.phase}`),
      },
    });
    expect(result.state).toBe('done');
    expect(result.message).toBe('plan p done');
    // va must wait for vb's cutover: lab-2 is full until then.
    expect(moves.log.indexOf('start va')).toBeGreaterThan(moves.log.indexOf('end vb'));
    expect(moves.maxActive).toBeLessThanOrEqual(3);
    expect(moves.maxActive).toBeGreaterThan(1);
    expect(stepStates(f, 'p')).toEqual([
      [1, 'done'],
      [2, 'done'],
      [3, 'done'],
      [4, 'done'],
    ]);
    const plan = service.show('p');
    expect(plan.steps.every((s) => s.state === 'done')).toBe(true);
    expect(service.list()[0].lastRun).toMatchObject({ state: 'done' });
    for (const pool of f.store.inventory.pools()) {
      const used = f.store.inventory.lvs(pool.id).reduce((sum, lv) => sum + lv.sizeBytes, 0);
      expect(used).toBeLessThanOrEqual(10 * G);
    }
    expect(progress).toContain('running');
    expect(progress).toContain('2:copying');
    expect(progress.at(-1)).toBe('done');
  });

  it('runs a staged swap: the staging hop, the other volume, then the final hop', async () => {
    const { f, service } = open(
      [
        ['a', 'lab-1', 6, null],
        ['b', 'lab-2', 6, null],
      ],
      { 'lab-1': 4, 'lab-2': 4 },
    );
    service.create('swap');
    service.addStep('swap', { volume: 'a', to: to('lab-2') });
    service.addStep('swap', { volume: 'b', to: to('lab-1') });
    const moves = new FakeMoves(f);
    const result = await runPlan({ store: f.store, refresh: async () => {}, moves }, 'swap', {
      concurrency: 2,
    });
    expect(result.state).toBe('done');
    expect(moves.started.map((r) => `${r.volume}->${r.to.appliance}`)).toEqual([
      'a->lab-3',
      'b->lab-1',
      'a->lab-2',
    ]);
    expect(f.store.volumes.require('a').mapping.appliance).toBe('lab-2');
    expect(f.store.volumes.require('b').mapping.appliance).toBe('lab-1');
    expect(stepStates(f, 'swap')).toEqual([
      [1, 'done'],
      [2, 'done'],
    ]);
  });

  it('stops before anything moves when a volume grew or a pool shrank since the plan was made', async () => {
    const { f, service } = open([['va', 'lab-1', 2, null]]);
    service.create('p');
    service.addStep('p', { volume: 'va', to: to('lab-2') });
    const moves = new FakeMoves(f);
    const grow = async () => {
      const vv = f.store.volumes.require('va');
      f.store.volumes.observe({
        uuid: vv.uuid,
        name: vv.name,
        sizeBytes: 3 * G,
        frontApplianceId: vv.frontApplianceId,
        mapping: vv.mapping,
        epoch: vv.epoch,
      });
      f.store.inventory.upsertPool(f.ids.get('lab-2')!, {
        name: 'pool',
        kind: 'dir',
        capacityBytes: 5 * G,
        lvs: [],
      });
    };
    await expect(runPlan({ store: f.store, refresh: grow, moves }, 'p')).rejects.toMatchObject({
      code: 'ERR_MOVE_STATE',
      message: expect.stringMatching(
        /volume va grew from 2\.0G to 3\.0G; pool lab-2\/pool shrank from 10\.0G to 5\.0G\. Nothing was moved/,
      ),
    });
    expect(moves.started).toEqual([]);
    expect(stepStates(f, 'p')).toEqual([[1, 'pending']]);
  });

  it('stops before anything moves when an appliance is offline or the plan no longer fits', async () => {
    const { f, service } = open([['va', 'lab-1', 2, null]]);
    service.create('p');
    service.addStep('p', { volume: 'va', to: to('lab-2') });
    const moves = new FakeMoves(f);
    f.store.appliances.setStatus('lab-2', 'offline', { detail: 'the lab is down' });
    await expect(runPlan({ store: f.store, refresh: async () => {}, moves }, 'p')).rejects.toMatchObject({
      code: 'ERR_UNREACHABLE',
      message: expect.stringMatching(/needs lab-2 \(the lab is down\), which is not online/),
    });
    f.store.appliances.setStatus('lab-2', 'online');
    const fill = async () => {
      f.store.inventory.upsertPool(f.ids.get('lab-2')!, {
        name: 'pool',
        kind: 'dir',
        capacityBytes: 10 * G,
        lvs: [{ name: 'big', sizeBytes: 9 * G }],
      });
    };
    await expect(runPlan({ store: f.store, refresh: fill, moves }, 'p')).rejects.toMatchObject({
      code: 'ERR_NO_SPACE',
      message: expect.stringMatching(/does not fit the fresh inventory: .*pool lab-2\/pool lacks 1\.0G/),
    });
    expect(moves.started).toEqual([]);
  });

  it('records a failed move, starts nothing more, and says what to do', async () => {
    const { f, service } = open([
      ['va', 'lab-1', 1, null],
      ['vb', 'lab-1', 1, null],
    ]);
    service.create('p');
    service.addStep('p', { volume: 'va', to: to('lab-2') });
    service.addStep('p', { volume: 'vb', to: to('lab-3') });
    const moves = new FakeMoves(f, { fail: ['va'] });
    const result = await runPlan({ store: f.store, refresh: async () => {}, moves }, 'p');
    expect(result.state).toBe('failed');
    expect(result.message).toMatch(
      /^step 1 \(va\) failed: target disk went away; .*run ferry plan run p again/,
    );
    expect(moves.started.map((r) => r.volume)).toEqual(['va']);
    expect(stepStates(f, 'p')).toEqual([
      [1, 'failed'],
      [2, 'pending'],
    ]);
    expect(result.plan.steps.find((s) => s.id === '1')?.error).toEqual({
      code: 'ERR_IO',
      message: 'target disk went away',
    });
    // Run again once the cause is fixed: the failed step runs again, then the rest.
    const retry = await runPlan({ store: f.store, refresh: async () => {}, moves: new FakeMoves(f) }, 'p');
    expect(retry.message).toBe('plan p done');
  });

  it('stops starting moves on request and continues where it was on the next run', async () => {
    const { f, service } = open([
      ['va', 'lab-1', 1, null],
      ['vb', 'lab-1', 1, null],
      ['vc', 'lab-1', 1, null],
    ]);
    service.create('p');
    for (const v of ['va', 'vb', 'vc']) service.addStep('p', { volume: v, to: to('lab-2') });
    const abort = new AbortController();
    const first = new FakeMoves(f);
    const stopped = await runPlan({ store: f.store, refresh: async () => {}, moves: first }, 'p', {
      signal: abort.signal,
      observer: { onNote: (t) => t.startsWith('step 1:') && abort.abort() },
    });
    expect(stopped.state).toBe('stopped');
    expect(stopped.message).toBe('stopped on request: 2 steps left; run ferry plan run p again to continue');
    expect(first.started.map((r) => r.volume)).toEqual(['va']);

    const second = new FakeMoves(f);
    const done = await runPlan({ store: f.store, refresh: async () => {}, moves: second }, 'p');
    expect(done.message).toBe('plan p done');
    expect(second.started.map((r) => r.volume)).toEqual(['vb', 'vc']);
    expect(stepStates(f, 'p').map((s) => s[1])).toEqual(['done', 'done', 'done']);
  });

  it('follows a move an interrupted run left going instead of starting it twice', async () => {
    // lab-2 has room for exactly both volumes: the move left running must be counted once.
    const { f, service } = open(
      [
        ['va', 'lab-1', 1, null],
        ['vb', 'lab-1', 1, null],
      ],
      { 'lab-2': 8 },
    );
    service.create('p');
    service.addStep('p', { volume: 'va', to: to('lab-2') });
    service.addStep('p', { volume: 'vb', to: to('lab-2') });
    // The console died while va's move was copying: the agent went on with it.
    const plan = f.store.plans.byName('p')!;
    f.store.moves.create({
      id: 'left-running',
      vvUuid: uuidOf(1),
      from: { appliance: 'lab-1', pool: 'pool', lv: 'lv-va' },
      to: { appliance: 'lab-2', pool: 'pool', lv: 'lv-va' },
    });
    f.store.moves.setPhase('left-running', 'copying');
    f.store.plans.setStep(plan.id, 0, { status: 'running', moveId: 'left-running' });
    f.store.plans.setRunState(plan.id, 'running');
    expect(service.show('p').steps[0]).toMatchObject({ state: 'running', moveId: 'left-running' });

    const moves = new FakeMoves(f);
    const result = await runPlan({ store: f.store, refresh: async () => {}, moves }, 'p');
    expect(result.state).toBe('done');
    expect(moves.waited[0]).toBe('left-running');
    expect(moves.started.map((r) => r.volume)).toEqual(['vb']);
  });

  it('waits for the window to open, and stops starting moves once it closed', async () => {
    const { f, service } = open([
      ['va', 'lab-1', 1, null],
      ['vb', 'lab-1', 1, null],
    ]);
    service.create('p');
    service.addStep('p', { volume: 'va', to: to('lab-2') });
    service.addStep('p', { volume: 'vb', to: to('lab-2') });
    let clock = new Date(2026, 10, 25, 21, 30);
    const slept: number[] = [];
    const moves = new FakeMoves(f);
    const notes: string[] = [];
    const result = await runPlan(
      {
        store: f.store,
        refresh: async () => {},
        moves,
        now: () => clock,
        sleep: async (ms) => {
          slept.push(ms);
          clock = new Date(2026, 10, 25, 22, 0);
        },
      },
      'p',
      {
        window: parseWindow('22:00-04:00'),
        observer: {
          onNote: (t) => {
            notes.push(t);
            // The first move ends after the window closed.
            if (t.startsWith('step 1: va is on')) clock = new Date(2026, 10, 26, 4, 1);
          },
        },
      },
    );
    expect(slept).toEqual([30 * 60_000]);
    expect(notes[0]).toMatch(/^waiting for the window 22:00-04:00 \(it opens in 30 min\)/);
    expect(result.state).toBe('stopped');
    expect(result.message).toMatch(/^the window 22:00-04:00 closed: 1 step left/);
    expect(moves.started.map((r) => r.volume)).toEqual(['va']);
  });
});

describe('run window', () => {
  it('parses HH:MM-HH:MM, across midnight too, and refuses nonsense', () => {
    const night = parseWindow('22:00-04:00');
    expect(windowState(night, new Date(2026, 0, 1, 23, 0))).toEqual({
      inside: true,
      opensInMs: 0,
      closesInMs: 5 * 3600_000,
    });
    expect(windowState(night, new Date(2026, 0, 1, 3, 59))).toMatchObject({
      inside: true,
      closesInMs: 60_000,
    });
    expect(windowState(night, new Date(2026, 0, 1, 12, 0))).toEqual({
      inside: false,
      opensInMs: 10 * 3600_000,
      closesInMs: 0,
    });
    const day = parseWindow('09:30-17:00');
    expect(windowState(day, new Date(2026, 0, 1, 9, 30)).inside).toBe(true);
    expect(windowState(day, new Date(2026, 0, 1, 17, 0)).inside).toBe(false);
    expect(parseWindow('00:00-24:00')).toMatchObject({ start: 0, end: 0 });
    expect(() => parseWindow('25:00-01:00')).toThrow(/use HH:MM-HH:MM/);
    expect(() => parseWindow('10:00-10:00')).toThrow(/is empty/);
    expect(() => parseWindow('tonight')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});
