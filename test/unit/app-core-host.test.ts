// CoreHost, the main process's wrapper of the core's utility process, against stand-ins of Electron's
// utilityProcess and MessageChannelMain built on Node's MessageChannel: the core side is the real
// serveCoreOnPort over a small handler. Start and ready, calls as outcomes, events in main, a crash
// failing calls in flight, a bounded stop, and the cleaned environment.

import { EventEmitter } from 'node:events';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { MessageChannelMain, UtilityProcess } from 'electron';
import { afterEach, describe, expect, it } from 'vitest';
import { CoreHost, type CoreHostDeps, cleanEnvironment } from '../../main/app/core-host.js';
import { serveCoreOnPort } from '../../main/app/core-process.js';
import type { CorePort } from '../../main/app/core-protocol.js';
import type { BridgeEvent, BridgeEventListener, BridgeHandler } from '../../shared/bridge/index.js';

/** Electron's MessagePortMain shape over a Node port: messages arrive as { data, ports }. */
class PortMain {
  constructor(readonly node: MessagePort) {}
  postMessage(message: unknown, transfer: PortMain[] = []) {
    this.node.postMessage(
      { data: message, ports: transfer.map((p) => p.node) },
      transfer.map((p) => p.node),
    );
  }
  on(event: string, listener: (arg?: unknown) => void) {
    if (event === 'close') this.node.on('close', listener);
    else
      this.node.on('message', (value: { data: unknown; ports: MessagePort[] }) =>
        listener({ data: value.data, ports: value.ports.map((p) => new PortMain(p)) }),
      );
    return this;
  }
  start() {
    this.node.start();
  }
  close() {
    this.node.close();
  }
}

class FakeChannel {
  readonly port1: PortMain;
  readonly port2: PortMain;
  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port1 = new PortMain(port1);
    this.port2 = new PortMain(port2);
  }
}

/** A utility process that runs serveCoreOnPort in this process; `hang` ignores stop and kill-less exit. */
class FakeUtilityProcess extends EventEmitter {
  killed = false;
  constructor(
    private readonly handler: BridgeHandler,
    private readonly hang: boolean,
  ) {
    super();
    setImmediate(() => this.emit('spawn'));
  }
  postMessage(message: { kind: string }, transfer: PortMain[] = []) {
    if (message.kind !== 'start' || !transfer[0]) return;
    serveCoreOnPort(
      transfer[0] as unknown as CorePort,
      { handler: this.handler, close: () => (this.hang ? new Promise(() => {}) : Promise.resolve()) },
      () => this.emit('exit', 0),
    );
  }
  kill() {
    this.killed = true;
    this.emit('exit', 9);
    return true;
  }
}

function standIn() {
  const listeners = new Set<BridgeEventListener>();
  const handler: BridgeHandler = {
    async call(method) {
      if (method === 'console.info') return { version: 'test', storePath: '/tmp/ferry.db' } as never;
      return new Promise(() => {}) as never; // never answers: a call in flight
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const emit = (event: BridgeEvent) => {
    for (const l of listeners) l(event);
  };
  return { handler, emit };
}

const hosts: CoreHost[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop(200);
});

async function startHost(options: { hang?: boolean } = {}) {
  const core = standIn();
  let child: FakeUtilityProcess | undefined;
  const deps: CoreHostDeps = {
    fork: () => {
      child = new FakeUtilityProcess(core.handler, options.hang ?? false);
      return child as unknown as UtilityProcess;
    },
    MessageChannelMain: FakeChannel as unknown as typeof MessageChannelMain,
  };
  const host = await CoreHost.start(
    { entry: '/dist/app/core-process.mjs', config: { storePath: '/tmp/x.db' } },
    deps,
  );
  hosts.push(host);
  if (!child) throw new Error('not forked');
  return { host, core, child };
}

describe('CoreHost', () => {
  it('starts, answers calls as outcomes and refuses invalid ones', async () => {
    const { host } = await startHost();
    expect(await host.call('console.info', {})).toEqual({
      ok: true,
      result: { version: 'test', storePath: '/tmp/ferry.db' },
    });
    expect(await host.call('no.such', {})).toMatchObject({
      ok: false,
      error: { code: 'ERR_INVALID_ARGUMENT' },
    });
  });

  it('delivers the core’s events to the main process', async () => {
    const { host, core } = await startHost();
    const seen: BridgeEvent[] = [];
    const stop = host.onEvent((e) => seen.push(e));
    await new Promise((r) => setTimeout(r, 50)); // the subscribe message reaches the core
    const event: BridgeEvent = { type: 'terminal.exit', payload: { id: 't1', code: 0 } };
    core.emit(event);
    await expect.poll(() => seen).toEqual([event]);
    stop();
  });

  it('reports a crash and fails calls in flight with ERR_UNREACHABLE', async () => {
    const { host, child } = await startHost();
    const crashes: string[] = [];
    host.on('crash', (reason) => crashes.push(reason));
    const inFlight = host.call('inventory.get', {});
    await new Promise((r) => setTimeout(r, 50));
    child.emit('exit', 3);
    expect(await inFlight).toMatchObject({ ok: false, error: { code: 'ERR_UNREACHABLE' } });
    expect(crashes).toEqual(['the console core exited with code 3']);
    expect(await host.call('console.info', {})).toMatchObject({
      ok: false,
      error: { code: 'ERR_UNREACHABLE' },
    });
  });

  it('stops cleanly, and kills a core that does not stop within the bound', async () => {
    const clean = await startHost();
    await clean.host.stop(2000);
    expect(clean.child.killed).toBe(false);
    const stuck = await startHost({ hang: true });
    const started = Date.now();
    await stuck.host.stop(300);
    expect(stuck.child.killed).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('cleanEnvironment', () => {
  it('keeps what shells and SSH need, drops Electron and Node tuning', () => {
    const env = cleanEnvironment({
      HOME: '/home/a',
      PATH: '/usr/bin',
      SSH_AUTH_SOCK: '/run/ssh.sock',
      ELECTRON_RUN_AS_NODE: '1',
      NODE_OPTIONS: '--require /tmp/evil.js',
      ELECTRON_ENABLE_LOGGING: '1',
      LD_PRELOAD: '/tmp/x.so',
      EMPTY: '',
    });
    expect(env).toEqual({ HOME: '/home/a', PATH: '/usr/bin', SSH_AUTH_SOCK: '/run/ssh.sock' });
  });
});
