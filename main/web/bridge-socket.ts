// One renderer's WebSocket: JSON calls in, validated against the bridge contract before the core sees
// them (shared/bridge/handler.ts); results, errors (FerryError codes unchanged) and the core's events
// out. A bad message gets an error reply naming what was wrong; it never closes the socket or reaches
// the core.

import type { WebSocket } from 'ws';
import {
  type BridgeHandler,
  callMessageSchema,
  checkEvent,
  describeZodIssues,
  errorInfoOf,
  type ServerMessage,
  validatedCall,
} from '../../shared/bridge/index.js';
import { FerryError, toFerryError } from '../../shared/errors.js';

/**
 * Beyond this much unsent data the renderer is not reading. Move progress is then skipped (the next
 * update supersedes it); any other event closes the socket instead, because the renderer reloads
 * everything when it reconnects, while a lost inventory change would leave it wrong.
 */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export type WebShellLog = (message: string) => void;

export function serveBridgeSocket(ws: WebSocket, handler: BridgeHandler, log: WebShellLog): void {
  const send = (message: ServerMessage): void => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify(message), (err) => {
      if (err) log(`bridge socket: send failed: ${err.message}`);
    });
  };
  const sendError = (id: number | null, err: FerryError): void => {
    send({ kind: 'error', id, error: errorInfoOf(err) });
  };

  let unsubscribe: (() => void) | null = handler.subscribe((event) => {
    const checked = checkEvent(event);
    if (checked instanceof FerryError) {
      log(`bridge socket: dropped an event from the core: ${checked.message}`);
      return;
    }
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      if (checked.type === 'move.progress') return;
      log('bridge socket: the renderer is not reading its events; closing so that it reloads');
      ws.close(1013, 'too far behind');
      return;
    }
    send({ kind: 'event', event: checked });
  });
  const stop = (): void => {
    unsubscribe?.();
    unsubscribe = null;
  };

  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      sendError(null, new FerryError('ERR_PROTOCOL', 'bridge messages are JSON text, not binary'));
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(data.toString());
    } catch {
      sendError(null, new FerryError('ERR_PROTOCOL', 'bridge message is not valid JSON'));
      return;
    }
    const parsed = callMessageSchema.safeParse(message);
    if (!parsed.success) {
      const id = idOf(message);
      sendError(
        id,
        new FerryError('ERR_PROTOCOL', `invalid bridge message: ${describeZodIssues(parsed.error)}`),
      );
      return;
    }
    const { id, method, params } = parsed.data;
    validatedCall(handler, method, params).then(
      (result) => send({ kind: 'result', id, result }),
      (err: unknown) => sendError(id, toFerryError(err)),
    );
  });
  ws.on('close', stop);
  ws.on('error', (err) => {
    log(`bridge socket: ${err.message}`);
    stop();
  });
}

function idOf(message: unknown): number | null {
  if (typeof message !== 'object' || message === null) return null;
  const id = (message as { id?: unknown }).id;
  return typeof id === 'number' && Number.isInteger(id) ? id : null;
}
