// Every IPC handler of the app goes through here (VS Code's validatedIpcMain is the model): the channel
// must start with 'ferry:', the sender must be a window of this app showing the app's own page in its
// main frame (not a sub-frame, not another origin, not a page navigated elsewhere), and a bridge call's
// params must match the contract's schemas (shared/bridge/handler.ts parseCall) before the core sees
// them. A refusal is an error outcome naming why, and one log line; it never reaches the core.

import { parseCall } from '../../shared/bridge/handler.js';
import type { MethodName, ValidParamsOf } from '../../shared/bridge/methods.js';
import type { CallOutcome } from '../../shared/bridge/preload-api.js';
import { errorInfoOf } from '../../shared/bridge/wire.js';
import { FerryError, toFerryError } from '../../shared/errors.js';
import { CHANNEL_PREFIX } from './ipc-channels.js';

/** What the guard reads of Electron's IpcMainInvokeEvent (plain objects of this shape in tests). */
export interface GuardedInvokeEvent {
  sender: { id: number };
  senderFrame: { url: string; parent: unknown } | null | undefined;
}

export interface AppIdentity {
  /** The app's own origin, e.g. 'ferry://app' (the custom scheme the renderer is served on). */
  origin: string;
  /** webContents ids of the app's own windows. */
  isAppWebContents(id: number): boolean;
}

export type GuardLog = (message: string) => void;

/** null when the sender may call; otherwise why not. */
export function senderRefusal(event: GuardedInvokeEvent, app: AppIdentity): string | null {
  if (!app.isAppWebContents(event.sender.id)) return 'the sender is not a window of this app';
  const frame = event.senderFrame;
  if (!frame) return 'the sending frame is gone (navigated or closed)';
  if (frame.parent !== null) return 'the sender is a sub-frame, not the main frame';
  if (!sameOrigin(frame.url, app.origin))
    return `the sender shows ${originOf(frame.url)}, not the app's page`;
  return null;
}

function originOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'an unreadable URL';
  }
}

/** Compares scheme and host by hand: WHATWG URL gives custom schemes the opaque origin 'null'. */
export function sameOrigin(url: string, origin: string): boolean {
  return originOf(url) === originOf(origin);
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: GuardedInvokeEvent, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export interface ValidatedIpcMain {
  /** Registers a handler; its result must already be a CallOutcome (handlers never throw across IPC). */
  handle(
    channel: string,
    handler: (event: GuardedInvokeEvent, ...args: unknown[]) => Promise<CallOutcome>,
  ): void;
  dispose(): void;
}

export function validatedIpcMain(ipcMain: IpcMainLike, app: AppIdentity, log: GuardLog): ValidatedIpcMain {
  const channels: string[] = [];
  return {
    handle(channel, handler) {
      if (!channel.startsWith(CHANNEL_PREFIX)) {
        throw new FerryError('ERR_INTERNAL', `IPC channel ${channel} must start with ${CHANNEL_PREFIX}`);
      }
      channels.push(channel);
      ipcMain.handle(channel, async (event, ...args): Promise<CallOutcome> => {
        const refusal = senderRefusal(event, app);
        if (refusal) {
          log(`refused ${channel}: ${refusal}`);
          return refused(new FerryError('ERR_AUTH', `refused: ${refusal}`));
        }
        try {
          return await handler(event, ...args);
        } catch (err) {
          return refused(toFerryError(err));
        }
      });
    },
    dispose() {
      for (const channel of channels.splice(0)) ipcMain.removeHandler(channel);
    },
  };
}

function refused(err: FerryError): CallOutcome {
  return { ok: false, error: errorInfoOf(err) };
}

export type GuardedCall =
  | { valid: true; method: MethodName; params: ValidParamsOf<MethodName> }
  | { valid: false; refusal: CallOutcome };

/** Validates one bridge call from the renderer: a known method, params matching its schema. */
export function checkBridgeCall(method: unknown, params: unknown): GuardedCall {
  try {
    const call = parseCall(method, params);
    return { valid: true, method: call.method, params: call.params };
  } catch (err) {
    return { valid: false, refusal: refused(toFerryError(err)) };
  }
}
