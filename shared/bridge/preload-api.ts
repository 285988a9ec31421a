// What the Electron preload exposes as `window.ferry` through contextBridge, and nothing more: one call
// function and one event subscription. Values crossing contextBridge are structured clones, so a call
// settles with an outcome object instead of throwing (a FerryError's class would not survive the trip);
// the renderer turns an error outcome back into a FerryError (wire.ts ferryErrorFrom). The main side
// validates every call with handler.ts validatedCall, as the browser shell does.

import type { BridgeEvent } from './events.js';
import type { ErrorInfo } from './fields.js';

export type CallOutcome = { ok: true; result: unknown } | { ok: false; error: ErrorInfo };

export interface FerryPreloadApi {
  call(method: string, params: unknown): Promise<CallOutcome>;
  /** Returns the function that stops the subscription. */
  onEvent(listener: (event: BridgeEvent) => void): () => void;
}

/** The global name the preload uses: `contextBridge.exposeInMainWorld(PRELOAD_GLOBAL, api)`. */
export const PRELOAD_GLOBAL = 'ferry';
