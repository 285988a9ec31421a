// The bridge contract: params are validated (defaults filled, the bad field named) before the core
// sees a call; results and events are checked; FerryError codes cross a transport unchanged.

import { describe, expect, it } from 'vitest';
import {
  type BridgeEvent,
  type BridgeHandler,
  bridgeMethods,
  checkEvent,
  errorInfoOf,
  ferryErrorFrom,
  methodNames,
  parseCall,
  settleCall,
  validatedCall,
} from '../../shared/bridge/index.js';
import { FerryError } from '../../shared/errors.js';

const NOW = '2026-11-25T13:00:00.000Z';

function sampleMove() {
  return {
    id: 'm1',
    volume: 'vol1',
    from: { appliance: 'a', pool: 'p' },
    to: { appliance: 'b', pool: 'p' },
    phase: 'copying' as const,
    paused: false,
    hostsFirst: false,
    percent: 42.5,
    bytesDone: 425,
    bytesTotal: 1000,
    rateBps: 100,
    etaSeconds: 6,
    mirroredWrites: 3,
    cutoverPauseMs: null,
    options: { throttleBps: null, verify: false, keepSource: false },
    startedAt: NOW,
    endedAt: null,
    error: null,
  };
}

/** Records what reached it; answers move.start with a fixed move. Only the contract is under test. */
function recordingHandler(result: unknown = sampleMove()) {
  const calls: Array<{ method: string; params: unknown }> = [];
  const handler: BridgeHandler = {
    async call(method, params) {
      calls.push({ method, params });
      return result as never;
    },
    subscribe: () => () => {},
  };
  return { handler, calls };
}

describe('bridge contract: params', () => {
  it('fills in defaults and hands the core validated params', async () => {
    const { handler, calls } = recordingHandler();
    await validatedCall(handler, 'move.start', { volume: 'vol1', to: { appliance: 'b', pool: 'p' } });
    expect(calls).toEqual([
      {
        method: 'move.start',
        params: {
          volume: 'vol1',
          to: { appliance: 'b', pool: 'p' },
          throttleBps: null,
          verify: false,
          keepSource: false,
        },
      },
    ]);
  });

  it('passes the busy-hosts cap through and refuses a negative one', async () => {
    const { handler, calls } = recordingHandler();
    const to = { appliance: 'b', pool: 'p' };
    await validatedCall(handler, 'move.start', { volume: 'vol1', to, busyThrottleBps: 0 });
    expect(calls[0]?.params).toMatchObject({ busyThrottleBps: 0 });
    const err = await validatedCall(handler, 'move.start', { volume: 'vol1', to, busyThrottleBps: -1 }).catch(
      (e: unknown) => e,
    );
    expect((err as FerryError).message).toMatch(/busyThrottleBps: must be a rate, or 0 for no cap/);
    expect(calls).toHaveLength(1);
  });

  it('refuses a bad field by name and never reaches the core', async () => {
    const { handler, calls } = recordingHandler();
    const err = await validatedCall(handler, 'move.start', {
      volume: 'vol1',
      to: { appliance: 'b', pool: 'Bad Pool' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('ERR_INVALID_ARGUMENT');
    expect((err as FerryError).message).toMatch(/^invalid parameters for move.start: to\.pool: must be 1-64/);
    expect((err as FerryError).details?.fields).toEqual(['to.pool']);
    expect(calls).toEqual([]);
  });

  it('refuses unknown fields and unknown methods', () => {
    expect(() => parseCall('lab.up', { appliances: 2, evil: true })).toThrow(/unknown field evil/);
    expect(() => parseCall('shell.exec', {})).toThrow(/unknown bridge method "shell.exec"/);
    expect(() => parseCall('__proto__', {})).toThrow(/unknown bridge method/);
  });

  it('accepts a missing params object for methods without params', () => {
    expect(parseCall('inventory.get', undefined).params).toEqual({});
  });

  it('checks the SSH auth union and the host key fingerprint form', () => {
    const base = { name: 'a', host: '127.0.0.11', auth: { kind: 'agent' } };
    expect(parseCall('appliance.add', base).params).toMatchObject({ port: 22, user: 'root' });
    expect(() => parseCall('appliance.add', { ...base, auth: { kind: 'token' } })).toThrow(/auth/);
    expect(() => parseCall('appliance.add', { ...base, acceptHostKey: 'MD5:aa' })).toThrow(
      /acceptHostKey: must be a SHA256 fingerprint/,
    );
  });

  it('declares a params and a result schema for every method', () => {
    expect(methodNames.length).toBeGreaterThan(20);
    for (const name of methodNames) {
      expect(bridgeMethods[name].params, name).toBeDefined();
      expect(bridgeMethods[name].result, name).toBeDefined();
    }
  });
});

describe('bridge contract: results, events, errors', () => {
  it('turns a result that breaks the contract into a clear ERR_INTERNAL', async () => {
    const { handler } = recordingHandler({ ...sampleMove(), percent: 140 });
    await expect(
      validatedCall(handler, 'move.start', { volume: 'vol1', to: { appliance: 'b', pool: 'p' } }),
    ).rejects.toMatchObject({ code: 'ERR_INTERNAL', message: expect.stringMatching(/move.start: percent/) });
  });

  it('keeps a FerryError thrown by the core unchanged', async () => {
    const handler: BridgeHandler = {
      call: async () => {
        throw new FerryError('ERR_NO_SPACE', 'pool b/p lacks 2.0G: free space or pick another pool', {
          missing: 2,
        });
      },
      subscribe: () => () => {},
    };
    const err = (await validatedCall(handler, 'move.start', {
      volume: 'v',
      to: { appliance: 'b', pool: 'p' },
    }).catch((e: unknown) => e)) as FerryError;
    const across = ferryErrorFrom(JSON.parse(JSON.stringify(errorInfoOf(err))));
    expect(across).toBeInstanceOf(FerryError);
    expect(across.code).toBe('ERR_NO_SPACE');
    expect(across.message).toBe(err.message);
    expect(across.details).toEqual({ missing: 2 });
  });

  it('maps an unknown error code to ERR_INTERNAL and keeps the message', () => {
    const err = ferryErrorFrom({ code: 'ERR_FROM_THE_FUTURE', message: 'something new' });
    expect(err.code).toBe('ERR_INTERNAL');
    expect(err.message).toBe('something new');
  });

  it('accepts the four event streams and names a bad field', () => {
    const events: BridgeEvent[] = [
      { type: 'move.progress', payload: sampleMove() },
      {
        type: 'inventory.changed',
        payload: {
          full: false,
          appliances: [],
          pools: [],
          volumes: [],
          removed: { appliances: [], pools: [], volumes: ['old'] },
          asOf: NOW,
        },
      },
      {
        type: 'plan.progress',
        payload: { plan: 'p1', state: 'running', steps: [], message: null },
      },
      {
        type: 'appliance.status',
        payload: { appliance: 'a', status: 'offline', message: 'refused', lastSeen: NOW, latencyMs: null },
      },
    ];
    for (const event of events) expect(checkEvent(event)).toEqual(event);
    const bad = checkEvent({ type: 'move.progress', payload: { ...sampleMove(), phase: 'teleporting' } });
    expect(bad).toBeInstanceOf(FerryError);
    expect((bad as FerryError).message).toMatch(/payload\.phase/);
    expect(checkEvent({ type: 'nope', payload: {} })).toBeInstanceOf(FerryError);
  });

  it('settles a call as an outcome object for IPC (no thrown class crosses contextBridge)', async () => {
    const { handler } = recordingHandler({ state: 'absent', appliances: [], dir: null });
    expect(await settleCall(handler, 'lab.status', {})).toEqual({
      ok: true,
      result: { state: 'absent', appliances: [], dir: null },
    });
    const refused = await settleCall(handler, 'lab.up', { appliances: 0 });
    expect(refused).toMatchObject({ ok: false, error: { code: 'ERR_INVALID_ARGUMENT' } });
    expect(JSON.parse(JSON.stringify(refused))).toEqual(refused);
  });
});
