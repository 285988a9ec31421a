// The sandboxed preload: exposes the bridge contract as `window.ferry` (shared/bridge/preload-api.ts)
// and nothing else. Calls go to the main process on one invoke channel, where the IPC guard checks the
// sender and validates them; events arrive on a MessagePort the main process hands over after load.
// No ipcRenderer, no channel names and no Node object reach the page.

import { contextBridge, ipcRenderer } from 'electron';
import type { BridgeEvent } from '../../shared/bridge/events.js';
import type { CallOutcome, FerryPreloadApi } from '../../shared/bridge/preload-api.js';
import { PRELOAD_GLOBAL } from '../../shared/bridge/preload-api.js';
import { CALL_CHANNEL, EVENTS_PORT_CHANNEL } from './ipc-channels.js';

const listeners = new Set<(event: BridgeEvent) => void>();

function call(method: string, params: unknown): Promise<CallOutcome> {
  if (typeof method !== 'string') {
    return Promise.resolve({
      ok: false,
      error: { code: 'ERR_INVALID_ARGUMENT', message: 'the method must be a string' },
    });
  }
  return ipcRenderer.invoke(CALL_CHANNEL, method, params ?? {}) as Promise<CallOutcome>;
}

ipcRenderer.on(EVENTS_PORT_CHANNEL, (event) => {
  const port = event.ports[0];
  if (!port) return;
  port.onmessage = (message: MessageEvent) => {
    const data = message.data as { kind?: unknown; event?: BridgeEvent };
    if (data?.kind !== 'event' || !data.event) return;
    for (const listener of listeners) {
      try {
        listener(data.event);
      } catch (err) {
        console.error('ferry: an event listener failed', err);
      }
    }
  };
});

const api: FerryPreloadApi = {
  call,
  onEvent(listener) {
    if (typeof listener !== 'function') throw new TypeError('onEvent needs a function');
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
  terminal: {
    open: (params) => call('terminal.open', params),
    write: (id, data) => call('terminal.write', { id, data }),
    resize: (id, cols, rows) => call('terminal.resize', { id, cols, rows }),
    close: (id) => call('terminal.close', { id }),
  },
};

contextBridge.exposeInMainWorld(PRELOAD_GLOBAL, api);
