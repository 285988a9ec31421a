// What the Electron preload exposes as `window.ferry` through contextBridge, and nothing more: one call
// function and one event subscription. Values crossing contextBridge are structured clones, so a call
// settles with an outcome object instead of throwing (a FerryError's class would not survive the trip);
// the renderer turns an error outcome back into a FerryError (wire.ts ferryErrorFrom). The main side
// validates every call with handler.ts validatedCall, as the browser shell does.

import type { BridgeEvent } from './events.js';
import type { ErrorInfo } from './fields.js';
import type { TerminalTarget } from './terminal.js';

export type CallOutcome = { ok: true; result: unknown } | { ok: false; error: ErrorInfo };

/** The terminal methods by name (the same calls as `call('terminal.open', ...)`, typed for the pane). */
export interface FerryTerminalApi {
  open(params: { target: TerminalTarget; cols: number; rows: number }): Promise<CallOutcome>;
  write(id: string, data: string): Promise<CallOutcome>;
  resize(id: string, cols: number, rows: number): Promise<CallOutcome>;
  close(id: string): Promise<CallOutcome>;
}

export interface FerryPreloadApi {
  call(method: string, params: unknown): Promise<CallOutcome>;
  /** Returns the function that stops the subscription. */
  onEvent(listener: (event: BridgeEvent) => void): () => void;
  terminal: FerryTerminalApi;
}

/** The global name the preload uses: `contextBridge.exposeInMainWorld(PRELOAD_GLOBAL, api)`. */
export const PRELOAD_GLOBAL = 'ferry';
