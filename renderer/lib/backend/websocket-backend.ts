// The browser shell's Backend: the bridge's JSON messages (shared/bridge/wire.ts) over one WebSocket
// back to the page's own host. Calls made while (re)connecting wait for the socket; a lost socket fails
// the calls in flight with a message that says what to do, and reconnects with a growing delay.

import {
  type BridgeEvent,
  type BridgeEventListener,
  ferryErrorFrom,
  type MethodName,
  type ResultOf,
  replyMessageSchema,
} from '../../../shared/bridge/index.js';
import { FerryError } from '../../../shared/errors.js';
import type { Backend, CallArgs, ConnectionState } from './backend.js';

interface Pending {
  resolve(result: unknown): void;
  reject(err: FerryError): void;
}

const LOST =
  'Lost the connection to the Ferry console. Check that `ferry web` is still running; Ferry reconnects by itself.';

export function createWebSocketBackend(socketUrl: string): Backend {
  const pending = new Map<number, Pending>();
  const queued: string[] = [];
  const listeners = new Set<BridgeEventListener>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();
  let state: ConnectionState = 'connecting';
  let socket: WebSocket | null = null;
  let nextId = 1;
  let retryDelay = 500;
  let closed = false;

  const setState = (next: ConnectionState) => {
    if (state === next) return;
    state = next;
    for (const l of connectionListeners) l(state);
  };

  const dispatch = (event: BridgeEvent) => {
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        console.error('bridge event listener failed', err);
      }
    }
  };

  function open(): void {
    setState('connecting');
    const ws = new WebSocket(socketUrl);
    socket = ws;
    ws.onopen = () => {
      retryDelay = 500;
      setState('open');
      for (const text of queued.splice(0)) ws.send(text);
    };
    ws.onmessage = (message) => {
      let data: unknown;
      try {
        data = JSON.parse(String(message.data));
      } catch {
        return;
      }
      const parsed = replyMessageSchema.safeParse(data);
      if (!parsed.success) return;
      const reply = parsed.data;
      if (reply.kind === 'event') {
        dispatch(reply.event as BridgeEvent);
        return;
      }
      if (reply.id === null) {
        console.warn('bridge: error without a call', reply);
        return;
      }
      const call = pending.get(reply.id);
      if (!call) return;
      pending.delete(reply.id);
      if (reply.kind === 'result') call.resolve(reply.result);
      else call.reject(ferryErrorFrom(reply.error));
    };
    ws.onclose = () => {
      socket = null;
      for (const call of pending.values()) call.reject(new FerryError('ERR_UNREACHABLE', LOST));
      pending.clear();
      queued.length = 0;
      setState('closed');
      if (!closed) {
        setTimeout(open, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 10_000);
      }
    };
  }
  open();

  return {
    shell: 'web',
    call<M extends MethodName>(method: M, ...args: CallArgs<M>): Promise<ResultOf<M>> {
      const id = nextId++;
      const text = JSON.stringify({ kind: 'call', id, method, params: args[0] ?? {} });
      return new Promise<ResultOf<M>>((resolve, reject) => {
        if (closed) {
          reject(new FerryError('ERR_UNREACHABLE', LOST));
          return;
        }
        pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(text);
        else queued.push(text);
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onConnection(listener) {
      connectionListeners.add(listener);
      listener(state);
      return () => connectionListeners.delete(listener);
    },
    close() {
      closed = true;
      socket?.close();
    },
  };
}

/** ws://HOST/bridge?token=..., from the page's own address (the token the shell printed). */
export function bridgeSocketUrl(location: Location): string {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/bridge?token=${encodeURIComponent(token)}`;
}
