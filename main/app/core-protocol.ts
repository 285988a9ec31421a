// The messages between the Electron main process and the console core's utility process. The main
// process starts the core with {kind:'start'} on the parent port, handing it a control MessagePort; on
// that port go bridge calls and replies (shared/bridge/wire.ts), 'subscribe' messages that each hand a
// port on which the core pushes every bridge event (one per window: the other end goes to its
// preload), and 'stop'. Names only: no Electron or Node import, so both sides and the tests share it.

import type { ErrorInfo } from '../../shared/bridge/fields.js';

/** What the utility process needs to build the console core; it is passed as data, never as env. */
export interface CoreProcessConfig {
  /** The store file (the same default as the CLI: <userData>/ferry.db). */
  storePath: string;
  /** The lab's folder; default beside the store. */
  labDir?: string;
}

export type ParentToCore = { kind: 'start'; config: CoreProcessConfig };

export type MainToCore =
  | { kind: 'call'; id: number; method: string; params: unknown }
  | { kind: 'subscribe' }
  | { kind: 'stop' };

export type CoreToMain =
  | { kind: 'ready' }
  | { kind: 'fatal'; error: ErrorInfo }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: ErrorInfo }
  | { kind: 'stopped' };

/** The little of a MessagePort (Electron's MessagePortMain or Node's worker_threads port) both sides use. */
export interface CorePort {
  postMessage(message: unknown, transfer?: never[]): void;
  on(event: 'message', listener: (message: { data: unknown; ports: CorePort[] }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  start(): void;
  close(): void;
}
