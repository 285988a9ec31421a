// The IPC guard with events shaped like Electron's IpcMainInvokeEvent: only the app's own main frame on
// the app's origin, in one of the app's windows, reaches a handler; calls with an unknown method or
// params outside the contract are refused with a message naming the field; channels must be 'ferry:'.

import { describe, expect, it } from 'vitest';
import { APP_ORIGIN } from '../../main/app/app-protocol.js';
import {
  checkBridgeCall,
  type GuardedInvokeEvent,
  type IpcMainLike,
  senderRefusal,
  validatedIpcMain,
} from '../../main/app/ipc-guard.js';
import type { CallOutcome } from '../../shared/bridge/index.js';

const app = { origin: APP_ORIGIN, isAppWebContents: (id: number) => id === 1 };
const mainFrame = { url: 'ferry://app/index.html', parent: null };

function event(frame: GuardedInvokeEvent['senderFrame'], senderId = 1): GuardedInvokeEvent {
  return { sender: { id: senderId }, senderFrame: frame };
}

/** An ipcMain stand-in that keeps the registered handlers so the test can invoke them. */
function fakeIpcMain() {
  const handlers = new Map<string, (event: GuardedInvokeEvent, ...args: unknown[]) => unknown>();
  const ipc: IpcMainLike = {
    handle: (channel, listener) => handlers.set(channel, listener),
    removeHandler: (channel) => handlers.delete(channel),
  };
  return { ipc, handlers };
}

describe('senderRefusal', () => {
  it('accepts the main frame of an app window on the app origin', () => {
    expect(senderRefusal(event(mainFrame), app)).toBeNull();
    expect(senderRefusal(event({ url: 'ferry://app/', parent: null }), app)).toBeNull();
  });

  it('refuses sub-frames, even of the app origin', () => {
    expect(senderRefusal(event({ url: 'ferry://app/index.html', parent: mainFrame }), app)).toMatch(
      /sub-frame/,
    );
  });

  it('refuses other origins: web pages, file URLs, look-alike hosts, other schemes', () => {
    for (const url of [
      'https://evil.example/',
      'file:///work/main/dist/renderer/index.html',
      'ferry://app.evil/index.html',
      'ferry://other/index.html',
      'http://127.0.0.1:8080/',
      'devtools://devtools/bundled/inspector.html',
      'not a url',
    ]) {
      expect(senderRefusal(event({ url, parent: null }), app), url).toMatch(/not the app's page/);
    }
  });

  it("refuses a sender that is not one of the app's windows, or whose frame is gone", () => {
    expect(senderRefusal(event(mainFrame, 7), app)).toMatch(/not a window of this app/);
    expect(senderRefusal(event(null), app)).toMatch(/frame is gone/);
  });
});

describe('validatedIpcMain', () => {
  it("refuses to register a channel without the 'ferry:' prefix", () => {
    const { ipc } = fakeIpcMain();
    const guard = validatedIpcMain(ipc, app, () => {});
    expect(() => guard.handle('call', async () => ({ ok: true, result: null }))).toThrow(/ferry:/);
  });

  it('runs the handler for the app frame; refuses others with ERR_AUTH and a log line', async () => {
    const { ipc, handlers } = fakeIpcMain();
    const logged: string[] = [];
    const guard = validatedIpcMain(ipc, app, (m) => logged.push(m));
    let reached = 0;
    guard.handle('ferry:call', async () => {
      reached++;
      return { ok: true, result: 'fine' };
    });
    const invoke = handlers.get('ferry:call');
    if (!invoke) throw new Error('not registered');
    expect(await invoke(event(mainFrame), 'console.info', {})).toEqual({ ok: true, result: 'fine' });
    const fromSubFrame = (await invoke(event({ url: 'ferry://app/x', parent: mainFrame }))) as CallOutcome;
    const fromWeb = (await invoke(event({ url: 'https://evil.example/', parent: null }))) as CallOutcome;
    expect(fromSubFrame).toMatchObject({ ok: false, error: { code: 'ERR_AUTH' } });
    expect(fromWeb).toMatchObject({ ok: false, error: { code: 'ERR_AUTH' } });
    expect(reached).toBe(1);
    expect(logged).toHaveLength(2);
    guard.dispose();
    expect(handlers.size).toBe(0);
  });

  it('turns a handler that throws into an error outcome (nothing thrown across IPC)', async () => {
    const { ipc, handlers } = fakeIpcMain();
    validatedIpcMain(ipc, app, () => {}).handle('ferry:call', async () => {
      throw new Error('boom');
    });
    const outcome = (await handlers.get('ferry:call')?.(event(mainFrame))) as CallOutcome;
    expect(outcome).toMatchObject({ ok: false, error: { code: 'ERR_INTERNAL', message: 'boom' } });
  });
});

describe('checkBridgeCall', () => {
  it('accepts a valid call and fills defaults from the contract', () => {
    const call = checkBridgeCall('terminal.open', { target: { kind: 'local' }, cols: 80, rows: 24 });
    expect(call).toMatchObject({ valid: true, method: 'terminal.open' });
    expect(checkBridgeCall('lab.up', {})).toMatchObject({ valid: true, params: { appliances: 3 } });
  });

  it('refuses unknown methods and invalid params, naming the field', () => {
    const refusals = [
      checkBridgeCall('shell.exec', {}),
      checkBridgeCall('__proto__', {}),
      checkBridgeCall(42, {}),
      checkBridgeCall('terminal.open', {
        target: { kind: 'appliance', appliance: '../etc' },
        cols: 80,
        rows: 24,
      }),
      checkBridgeCall('terminal.resize', { id: 't1', cols: 0, rows: 24 }),
      checkBridgeCall('terminal.write', { id: 't1', data: 'x'.repeat(64 * 1024 + 1) }),
      checkBridgeCall('terminal.close', { id: 't1', extra: true }),
      checkBridgeCall('move.start', { volume: 'v1', to: { appliance: 'a' } }),
    ];
    for (const refusal of refusals) {
      expect(refusal.valid).toBe(false);
      if (!refusal.valid)
        expect(refusal.refusal).toMatchObject({ ok: false, error: { code: 'ERR_INVALID_ARGUMENT' } });
    }
    const resize = refusals[4];
    if (!resize.valid && !resize.refusal.ok)
      expect(resize.refusal.error.message).toMatch(/cols: must be 2-1000/);
  });
});
