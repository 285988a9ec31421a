// The one interface the renderer's services use to reach the console core. Each shell has its own
// implementation (the browser shell's WebSocket here; Electron's will wrap `window.ferry` from its
// preload); nothing above this folder knows which one runs.

import type { BridgeEventListener, MethodName, ParamsOf, ResultOf } from '../../../shared/bridge/index.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** Methods whose params may all be left out can be called without a params object. */
export type CallArgs<M extends MethodName> =
  Record<string, never> extends ParamsOf<M> ? [params?: ParamsOf<M>] : [params: ParamsOf<M>];

export interface Backend {
  readonly shell: 'web' | 'electron';
  /** Rejects with a FerryError (code from shared/errors.ts) when the core refuses or is unreachable. */
  call<M extends MethodName>(method: M, ...args: CallArgs<M>): Promise<ResultOf<M>>;
  subscribe(listener: BridgeEventListener): () => void;
  /** Called at once with the current state, then on each change. */
  onConnection(listener: (state: ConnectionState) => void): () => void;
  close(): void;
}
