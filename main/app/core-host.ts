// The console core in an Electron utilityProcess, wrapped once (VS Code's utility process wrapper is the
// model): typed config, a cleaned environment, 'exit' and 'crash' events, a MessagePort handed over on
// start, calls answered as CallOutcomes, one event port per window, and a bounded wait for exit.

import { EventEmitter } from 'node:events';
import type { MessageChannelMain as MessageChannelMainType, UtilityProcess, WebContents } from 'electron';
import type { BridgeEvent } from '../../shared/bridge/events.js';
import type { CallOutcome } from '../../shared/bridge/preload-api.js';
import { FerryError } from '../../shared/errors.js';
import type { CoreProcessConfig, CoreToMain, MainToCore } from './core-protocol.js';
import { EVENTS_PORT_CHANNEL } from './ipc-channels.js';

export interface CoreHostDeps {
  fork(modulePath: string, args: string[], options: Electron.ForkOptions): UtilityProcess;
  MessageChannelMain: typeof MessageChannelMainType;
}

export interface CoreHostOptions {
  /** The bundled entry, dist/app/core-process.mjs. */
  entry: string;
  config: CoreProcessConfig;
  /** Default: 30 s for the core to open the store and answer 'ready'. */
  startTimeoutMs?: number;
}

/** Variables the core may see: what a shell, SSH and node-pty need; never Electron's or Node's tuning. */
const KEPT_ENV = [
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'PATH',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TERM',
  'TMPDIR',
  'TZ',
  'SSH_AUTH_SOCK',
  'XDG_RUNTIME_DIR',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'DISPLAY',
  'WAYLAND_DISPLAY',
  'USERPROFILE',
  'APPDATA',
  'LOCALAPPDATA',
  'COMSPEC',
  'SystemRoot',
  'TEMP',
  'TMP',
  'FERRY_STORE',
];

/** The core's environment: an allowlist, so ELECTRON_*, NODE_OPTIONS and the like never leak in. */
export function cleanEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const name of KEPT_ENV) {
    const value = env[name];
    if (value !== undefined && value !== '') clean[name] = value;
  }
  return clean;
}

interface Pending {
  resolve(outcome: CallOutcome): void;
}

export class CoreHost extends EventEmitter<{ exit: [code: number]; crash: [reason: string] }> {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopping: Promise<void> | null = null;
  private exited = false;

  private constructor(
    private readonly child: UtilityProcess,
    private readonly control: Electron.MessagePortMain,
    private readonly deps: CoreHostDeps,
  ) {
    super();
  }

  /** Forks the core and resolves once it has opened the store; rejects with why it could not. */
  static async start(options: CoreHostOptions, deps: CoreHostDeps): Promise<CoreHost> {
    const child = deps.fork(options.entry, [], {
      serviceName: 'Ferry console core',
      env: cleanEnvironment(process.env),
      stdio: 'inherit',
    });
    const { port1, port2 } = new deps.MessageChannelMain();
    const host = new CoreHost(child, port1, deps);
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new FerryError('ERR_TIMEOUT', 'the console core did not start within 30 s')),
        options.startTimeoutMs ?? 30_000,
      );
      host.once('exit', (code) => {
        clearTimeout(timer);
        reject(new FerryError('ERR_INTERNAL', `the console core exited at start (code ${code})`));
      });
      host.onFirst = (message) => {
        clearTimeout(timer);
        if (message.kind === 'ready') resolve();
        else if (message.kind === 'fatal') reject(new FerryError('ERR_INTERNAL', message.error.message));
      };
    });
    host.listen();
    child.once('spawn', () => {
      const start = { kind: 'start', config: options.config };
      child.postMessage(start, [port2]);
    });
    await ready;
    return host;
  }

  private onFirst: ((message: CoreToMain) => void) | null = null;

  private listen(): void {
    this.control.on('message', ({ data }) => {
      const message = data as CoreToMain;
      if (this.onFirst && (message.kind === 'ready' || message.kind === 'fatal')) {
        const first = this.onFirst;
        this.onFirst = null;
        first(message);
        return;
      }
      if (message.kind === 'result' || message.kind === 'error') {
        const call = this.pending.get(message.id);
        if (!call) return;
        this.pending.delete(message.id);
        call.resolve(
          message.kind === 'result'
            ? { ok: true, result: message.result }
            : { ok: false, error: message.error },
        );
      }
    });
    this.control.start();
    this.child.on('exit', (code) => {
      this.exited = true;
      for (const call of this.pending.values()) {
        call.resolve({
          ok: false,
          error: { code: 'ERR_UNREACHABLE', message: 'the console core stopped: restart Ferry' },
        });
      }
      this.pending.clear();
      if (code !== 0 && !this.stopping) this.emit('crash', `the console core exited with code ${code}`);
      this.emit('exit', code);
    });
  }

  call(method: string, params: unknown): Promise<CallOutcome> {
    if (this.exited || this.stopping) {
      return Promise.resolve({
        ok: false,
        error: { code: 'ERR_UNREACHABLE', message: 'the console core is not running: restart Ferry' },
      });
    }
    const id = this.nextId++;
    return new Promise<CallOutcome>((resolve) => {
      this.pending.set(id, { resolve });
      this.post({ kind: 'call', id, method, params });
    });
  }

  /** Gives a window its own event port: the core pushes every bridge event on it until it closes. */
  attachWindow(contents: WebContents): void {
    const { port1, port2 } = new this.deps.MessageChannelMain();
    this.control.postMessage({ kind: 'subscribe' } satisfies MainToCore, [port1]);
    contents.postMessage(EVENTS_PORT_CHANNEL, null, [port2]);
    contents.once('destroyed', () => port2.close());
  }

  /** Events in the main process itself (notifications); returns the function that stops them. */
  onEvent(listener: (event: BridgeEvent) => void): () => void {
    const { port1, port2 } = new this.deps.MessageChannelMain();
    this.control.postMessage({ kind: 'subscribe' } satisfies MainToCore, [port1]);
    port2.on('message', ({ data }) => {
      const message = data as { kind?: string; event?: BridgeEvent };
      if (message?.kind === 'event' && message.event) listener(message.event);
    });
    port2.start();
    return () => port2.close();
  }

  /** Asks the core to close its links and terminals, then waits at most `timeoutMs` before killing it. */
  stop(timeoutMs = 5000): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      if (this.exited) {
        resolve();
        return;
      }
      const timer = setTimeout(() => this.child.kill(), timeoutMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.post({ kind: 'stop' });
    });
    return this.stopping;
  }

  private post(message: MainToCore): void {
    this.control.postMessage(message);
  }
}
