// The renderer's Electron backend over `window.ferry` (the preload's API): results pass through,
// error outcomes become FerryErrors with their code, events reach subscribers, and the preload is
// found only when it has the expected shape. The preload here is a plain object: what is under test
// is the renderer's adapter, not Electron.

import { afterEach, describe, expect, it } from 'vitest';
import { createElectronBackend, preloadApi } from '../../renderer/lib/backend/electron-backend.js';
import type { BridgeEvent, CallOutcome, FerryPreloadApi } from '../../shared/bridge/index.js';
import { FerryError } from '../../shared/errors.js';

function preloadStandIn(outcome: CallOutcome) {
  const calls: Array<{ method: string; params: unknown }> = [];
  let listener: ((event: BridgeEvent) => void) | null = null;
  const api = {
    async call(method: string, params: unknown) {
      calls.push({ method, params });
      return outcome;
    },
    onEvent(l: (event: BridgeEvent) => void) {
      listener = l;
      return () => {
        listener = null;
      };
    },
  } as unknown as FerryPreloadApi;
  return { api, calls, emit: (event: BridgeEvent) => listener?.(event) };
}

describe('renderer Electron backend', () => {
  afterEach(() => {
    delete (globalThis as Record<string, unknown>).ferry;
  });

  it('passes calls and results through, with {} for methods called without params', async () => {
    const { api, calls } = preloadStandIn({
      ok: true,
      result: { state: 'absent', appliances: [], dir: null },
    });
    const backend = createElectronBackend(api);
    expect(await backend.call('lab.status')).toEqual({ state: 'absent', appliances: [], dir: null });
    expect(calls).toEqual([{ method: 'lab.status', params: {} }]);
  });

  it('turns an error outcome into a FerryError with the same code', async () => {
    const { api } = preloadStandIn({
      ok: false,
      error: { code: 'ERR_VOLUME_BUSY', message: 'vol1 is already moving', details: { move: 'm1' } },
    });
    const err = await createElectronBackend(api)
      .call('move.start', { volume: 'vol1', to: { appliance: 'b', pool: 'p' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect(err).toMatchObject({ code: 'ERR_VOLUME_BUSY', message: 'vol1 is already moving' });
  });

  it('delivers events and reports itself always connected', () => {
    const { api, emit } = preloadStandIn({ ok: true, result: null });
    const backend = createElectronBackend(api);
    const seen: string[] = [];
    const stop = backend.subscribe((e) => seen.push(e.type));
    const states: string[] = [];
    backend.onConnection((s) => states.push(s));
    emit({
      type: 'appliance.status',
      payload: { appliance: 'a', status: 'online', message: null, lastSeen: null, latencyMs: null },
    });
    stop();
    emit({
      type: 'appliance.status',
      payload: { appliance: 'a', status: 'offline', message: null, lastSeen: null, latencyMs: null },
    });
    expect(seen).toEqual(['appliance.status']);
    expect(states).toEqual(['open']);
  });

  it('finds window.ferry only when it looks like the preload API', () => {
    expect(preloadApi()).toBeNull();
    (globalThis as Record<string, unknown>).ferry = { call: () => {} };
    expect(preloadApi()).toBeNull();
    const { api } = preloadStandIn({ ok: true, result: null });
    (globalThis as Record<string, unknown>).ferry = api;
    expect(preloadApi()).toBe(api);
  });
});
