// The utility process's side (its entry is core-process-main.ts): builds the console core on the store
// it is given and serves the bridge on the control port, validating every call again
// (shared/bridge/handler.ts settleCall), and pushes every event to each subscribed port. Written
// against CorePort so tests can drive it with Node's MessageChannel.

import type { BridgeHandler } from '../../shared/bridge/handler.js';
import { checkEvent, settleCall } from '../../shared/bridge/handler.js';
import { errorInfoOf } from '../../shared/bridge/wire.js';
import { FerryError, toFerryError } from '../../shared/errors.js';
import type { CorePort, CoreToMain, MainToCore } from './core-protocol.js';

export interface ServedCore {
  handler: BridgeHandler;
  close(): Promise<void>;
}

/** Serves `core` on `control` until 'stop' or the port closes; then closes the core and calls onStopped. */
export function serveCoreOnPort(control: CorePort, core: ServedCore, onStopped: () => void): void {
  const send = (message: CoreToMain) => control.postMessage(message);
  const unsubscribers = new Set<() => void>();
  let stopping = false;

  const subscribe = (port: CorePort) => {
    const stop = core.handler.subscribe((event) => {
      const checked = checkEvent(event);
      if (checked instanceof FerryError) return;
      port.postMessage({ kind: 'event', event: checked });
    });
    const unsubscribe = () => {
      stop();
      unsubscribers.delete(unsubscribe);
    };
    unsubscribers.add(unsubscribe);
    port.on('close', unsubscribe);
    port.start();
  };

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const unsubscribe of [...unsubscribers]) unsubscribe();
    await core.close().catch(() => {});
    send({ kind: 'stopped' });
    onStopped();
  };

  control.on('message', ({ data, ports }) => {
    const message = data as MainToCore;
    if (message?.kind === 'call') {
      settleCall(core.handler, message.method, message.params).then((outcome) =>
        send(
          outcome.ok
            ? { kind: 'result', id: message.id, result: outcome.result }
            : { kind: 'error', id: message.id, error: outcome.error },
        ),
      );
    } else if (message?.kind === 'subscribe' && ports[0]) subscribe(ports[0]);
    else if (message?.kind === 'stop') void stop();
  });
  control.on('close', () => void stop());
  control.start();
  send({ kind: 'ready' });
}

export function fatalMessage(err: unknown): CoreToMain {
  return { kind: 'fatal', error: errorInfoOf(toFerryError(err)) };
}
