// The console core as the Electron app runs it in its utility process (main/app/core-process.ts), here
// over Node's MessageChannel instead of Electron's: calls and replies on the control port (validated
// again there), bridge events on a subscribed port, a local terminal typed into through that path
// (echo hi -> hi), and a clean stop that closes the core.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { serveCoreOnPort } from '../../main/app/core-process.js';
import type { CorePort, CoreToMain } from '../../main/app/core-protocol.js';
import { createBridgeHandler } from '../../main/core/console/bridge-handler.js';
import { ConsoleCore } from '../../main/core/console/console-core.js';
import { openStore } from '../../main/core/store/index.js';
import type { BridgeEvent } from '../../shared/bridge/index.js';
import { screenLines } from '../helpers/terminal-screen.js';

/** Electron's MessagePortMain delivers { data, ports }; Node's port delivers the value itself. */
function asCorePort(port: MessagePort): CorePort {
  return {
    postMessage: (message) => port.postMessage({ data: message, ports: [] }),
    on: ((event: 'message' | 'close', listener: (arg?: unknown) => void) => {
      if (event === 'close') port.on('close', listener);
      else
        port.on('message', (value: { data: unknown; ports: MessagePort[] }) =>
          listener({ data: value.data, ports: value.ports.map(asCorePort) }),
        );
    }) as CorePort['on'],
    start: () => port.start(),
    close: () => port.close(),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'ferry-core-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the core behind a MessagePort (Electron utility process protocol)', () => {
  it('answers calls, refuses invalid ones, streams a terminal, and stops cleanly', async () => {
    const store = openStore({ path: join(dir, 'ferry.db') });
    const core = new ConsoleCore({ store, labDir: join(dir, 'lab') });
    const control = new MessageChannel();
    let stopped = false;
    serveCoreOnPort(
      asCorePort(control.port2),
      {
        handler: createBridgeHandler(core),
        close: async () => {
          await core.close();
          store.close();
        },
      },
      () => {
        stopped = true;
      },
    );

    const replies: CoreToMain[] = [];
    control.port1.on('message', (value: { data: CoreToMain }) => replies.push(value.data));
    const send = (data: unknown, ports: MessagePort[] = []) =>
      control.port1.postMessage({ data, ports }, ports);
    let nextId = 1;
    const call = async (method: string, params: unknown): Promise<CoreToMain> => {
      const id = nextId++;
      send({ kind: 'call', id, method, params });
      await expect
        .poll(() => replies.find((r) => 'id' in r && r.id === id), { timeout: 10_000 })
        .toBeTruthy();
      return replies.find((r) => 'id' in r && r.id === id) as CoreToMain;
    };

    await expect.poll(() => replies[0]).toEqual({ kind: 'ready' });
    expect(await call('console.info', {})).toMatchObject({
      kind: 'result',
      result: { storePath: join(dir, 'ferry.db') },
    });
    expect(await call('terminal.resize', { id: 't1', cols: 0, rows: 5 })).toMatchObject({
      kind: 'error',
      error: { code: 'ERR_INVALID_ARGUMENT' },
    });

    const events = new MessageChannel();
    const seen: BridgeEvent[] = [];
    // The adapter wraps what the core posts as { data }, as Electron's ports deliver it.
    events.port1.on('message', (value: { data: { kind: string; event: BridgeEvent } }) => {
      if (value.data.kind === 'event') seen.push(value.data.event);
    });
    send({ kind: 'subscribe' }, [events.port2]);

    const opened = await call('terminal.open', { target: { kind: 'local' }, cols: 80, rows: 24 });
    expect(opened).toMatchObject({ kind: 'result' });
    const id = (opened as { result: { id: string } }).result.id;
    await call('terminal.write', { id, data: 'echo hi\r' });
    const text = () =>
      seen
        .filter((e): e is Extract<BridgeEvent, { type: 'terminal.data' }> => e.type === 'terminal.data')
        .filter((e) => e.payload.id === id)
        .map((e) => e.payload.data)
        .join('');
    await expect.poll(() => screenLines(text()).includes('hi'), { timeout: 10_000 }).toBe(true);

    send({ kind: 'stop' });
    await expect.poll(() => stopped, { timeout: 10_000 }).toBe(true);
    expect(replies.at(-1)).toEqual({ kind: 'stopped' });
    // Stopping the core ended the shell it ran.
    expect(core.terminals.service.count).toBe(0);
    control.port1.close();
    events.port1.close();
  });
});
