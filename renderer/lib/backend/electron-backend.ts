// The Electron app's Backend: the preload's `window.ferry` (shared/bridge/preload-api.ts). IPC to the
// app's own main process does not drop like a socket, so the connection is simply open.

import {
  type BridgeEventListener,
  type FerryPreloadApi,
  ferryErrorFrom,
  type MethodName,
  PRELOAD_GLOBAL,
  type ResultOf,
} from '../../../shared/bridge/index.js';
import type { Backend, CallArgs } from './backend.js';

export function preloadApi(): FerryPreloadApi | null {
  const api = (globalThis as Record<string, unknown>)[PRELOAD_GLOBAL];
  return api && typeof api === 'object' && 'call' in api && 'onEvent' in api
    ? (api as FerryPreloadApi)
    : null;
}

export function createElectronBackend(api: FerryPreloadApi): Backend {
  return {
    shell: 'electron',
    async call<M extends MethodName>(method: M, ...args: CallArgs<M>): Promise<ResultOf<M>> {
      const outcome = await api.call(method, args[0] ?? {});
      if (!outcome.ok) throw ferryErrorFrom(outcome.error);
      return outcome.result as ResultOf<M>;
    },
    subscribe(listener: BridgeEventListener) {
      return api.onEvent(listener);
    },
    onConnection(listener) {
      listener('open');
      return () => {};
    },
    close() {},
  };
}
