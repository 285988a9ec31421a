// One native notification per move that ends (done, failed, aborted) and per plan run that ends.

import { describe, expect, it } from 'vitest';
import { createEndNotifier } from '../../main/app/notifications.js';
import type { BridgeEvent, Move } from '../../shared/bridge/index.js';

const move: Move = {
  id: 'm1',
  volume: 'db-1',
  from: { appliance: 'lab-1', pool: 'pool' },
  to: { appliance: 'lab-2', pool: 'pool' },
  phase: 'copying',
  paused: false,
  percent: 50,
  bytesDone: 1,
  bytesTotal: 2,
  rateBps: 1,
  etaSeconds: 1,
  mirroredWrites: 0,
  cutoverPauseMs: null,
  options: { throttleBps: null, verify: false, keepSource: false },
  startedAt: '2026-11-25T13:00:00.000Z',
  endedAt: null,
  error: null,
} as Move;

describe('createEndNotifier', () => {
  it('tells once when a move finishes, with the cutover pause', () => {
    const notice = createEndNotifier();
    expect(notice({ type: 'move.progress', payload: move })).toBeNull();
    const done: BridgeEvent = {
      type: 'move.progress',
      payload: { ...move, phase: 'done', cutoverPauseMs: 41.6 },
    };
    expect(notice(done)).toEqual({ title: 'Move finished', body: 'db-1 → lab-2/pool (I/O paused 42 ms)' });
    expect(notice(done)).toBeNull();
  });

  it('tells why a move failed', () => {
    const notice = createEndNotifier();
    const failed: BridgeEvent = {
      type: 'move.progress',
      payload: { ...move, phase: 'failed', error: { code: 'ERR_IO', message: 'target pool full' } },
    };
    expect(notice(failed)).toEqual({ title: 'Move failed', body: 'db-1 → lab-2/pool: target pool full' });
  });

  it('tells when a plan that was seen running ends', () => {
    const notice = createEndNotifier();
    const plan = (state: 'running' | 'done'): BridgeEvent => ({
      type: 'plan.progress',
      payload: {
        plan: 'rebalance',
        state,
        steps: [
          { id: 's1', state: 'done', moveId: 'm1', error: null },
          { id: 's2', state: state === 'done' ? 'done' : 'running', moveId: 'm2', error: null },
        ],
        message: null,
      },
    });
    expect(notice(plan('done'))).toBeNull(); // never seen running: an old run replayed
    expect(notice(plan('running'))).toBeNull();
    expect(notice(plan('done'))).toEqual({ title: 'Plan finished', body: 'rebalance: 2 of 2 moves done' });
  });
});
