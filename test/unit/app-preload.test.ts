// The preload exposes exactly the bridge contract as window.ferry and talks only on 'ferry:' channels.
// preload.ts is loaded as it is, with a fake 'electron' module (FakeElectronForPreloadTest) standing in
// for contextBridge and ipcRenderer: it records what is exposed and every channel used.

import { MessageChannel } from 'node:worker_threads';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { BridgeEvent, FerryPreloadApi } from '../../shared/bridge/index.js';

const FakeElectronForPreloadTest = vi.hoisted(() => {
  const exposed = new Map<string, unknown>();
  const channels: string[] = [];
  const invocations: Array<{ channel: string; args: unknown[] }> = [];
  const receivers = new Map<string, (event: { ports: unknown[] }, ...args: unknown[]) => void>();
  return {
    exposed,
    channels,
    invocations,
    receivers,
    contextBridge: {
      exposeInMainWorld(key: string, api: unknown) {
        exposed.set(key, api);
      },
    },
    ipcRenderer: {
      invoke(channel: string, ...args: unknown[]) {
        channels.push(channel);
        invocations.push({ channel, args });
        return Promise.resolve({ ok: true, result: { echoed: args } });
      },
      on(channel: string, listener: (event: { ports: unknown[] }, ...args: unknown[]) => void) {
        channels.push(channel);
        receivers.set(channel, listener);
      },
      send(channel: string) {
        channels.push(channel);
      },
    },
  };
});

vi.mock('electron', () => ({
  contextBridge: FakeElectronForPreloadTest.contextBridge,
  ipcRenderer: FakeElectronForPreloadTest.ipcRenderer,
}));

let api: FerryPreloadApi;

beforeAll(async () => {
  await import('../../main/app/preload.js');
  api = FakeElectronForPreloadTest.exposed.get('ferry') as FerryPreloadApi;
});

describe('preload', () => {
  it('exposes one global, window.ferry, with call, onEvent and the terminal methods only', () => {
    expect([...FakeElectronForPreloadTest.exposed.keys()]).toEqual(['ferry']);
    expect(Object.keys(api).sort()).toEqual(['call', 'onEvent', 'terminal']);
    expect(Object.keys(api.terminal).sort()).toEqual(['close', 'open', 'resize', 'write']);
    for (const value of [api.call, api.onEvent, ...Object.values(api.terminal)]) {
      expect(typeof value).toBe('function');
    }
  });

  it('sends every call, terminals included, on ferry:call with the method and params', async () => {
    await api.call('inventory.get', {});
    await api.terminal.open({ target: { kind: 'local' }, cols: 80, rows: 24 });
    await api.terminal.write('t1', 'ls\r');
    await api.terminal.resize('t1', 100, 30);
    await api.terminal.close('t1');
    expect(FakeElectronForPreloadTest.invocations).toEqual([
      { channel: 'ferry:call', args: ['inventory.get', {}] },
      { channel: 'ferry:call', args: ['terminal.open', { target: { kind: 'local' }, cols: 80, rows: 24 }] },
      { channel: 'ferry:call', args: ['terminal.write', { id: 't1', data: 'ls\r' }] },
      { channel: 'ferry:call', args: ['terminal.resize', { id: 't1', cols: 100, rows: 30 }] },
      { channel: 'ferry:call', args: ['terminal.close', { id: 't1' }] },
    ]);
  });

  it('uses only channels that start with ferry:', () => {
    expect(FakeElectronForPreloadTest.channels.length).toBeGreaterThan(0);
    for (const channel of FakeElectronForPreloadTest.channels) expect(channel).toMatch(/^ferry:/);
  });

  it('refuses a method that is not a string without reaching IPC', async () => {
    const before = FakeElectronForPreloadTest.invocations.length;
    const outcome = await api.call(42 as unknown as string, {});
    expect(outcome).toMatchObject({ ok: false, error: { code: 'ERR_INVALID_ARGUMENT' } });
    expect(FakeElectronForPreloadTest.invocations.length).toBe(before);
  });

  it('delivers events from the port the main process hands over, until unsubscribed', async () => {
    const receive = FakeElectronForPreloadTest.receivers.get('ferry:events-port');
    expect(receive).toBeDefined();
    const { port1, port2 } = new MessageChannel();
    // The renderer's MessagePort has onmessage with { data }, as Node's has.
    receive?.({ ports: [port2] });
    const seen: BridgeEvent[] = [];
    const stop = api.onEvent((event) => seen.push(event));
    const event: BridgeEvent = { type: 'terminal.data', payload: { id: 't1', data: 'hi\r\n' } };
    port1.postMessage({ kind: 'event', event });
    port1.postMessage({ kind: 'not-an-event' });
    await vi.waitFor(() => expect(seen).toEqual([event]));
    stop();
    port1.postMessage({ kind: 'event', event });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(1);
    port1.close();
    port2.close();
  });
});
