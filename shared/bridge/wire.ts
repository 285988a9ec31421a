// Messages of the bridge on a byte transport (the browser shell's WebSocket; any MessagePort could use
// them too): JSON objects with a `kind`. The renderer sends calls; the shell replies with a result or an
// error for the same id, and pushes events.

import { z } from 'zod';
import { FerryError, isErrorCode } from '../errors.js';
import type { BridgeEvent } from './events.js';
import { type ErrorInfo, errorInfoSchema } from './fields.js';

/** Largest message either side accepts; a full inventory of 10,000 volumes is ~3 MiB. */
export const MAX_BRIDGE_MESSAGE_BYTES = 16 * 1024 * 1024;

export const callMessageSchema = z.strictObject({
  kind: z.literal('call'),
  id: z.number().int().nonnegative(),
  method: z.string(),
  params: z.unknown().optional(),
});
export type CallMessage = z.infer<typeof callMessageSchema>;

export const replyMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('result'), id: z.number().int(), result: z.unknown() }),
  z.object({ kind: z.literal('error'), id: z.number().int().nullable(), error: errorInfoSchema }),
  z.object({ kind: z.literal('event'), event: z.unknown() }),
]);
export type ReplyMessage = z.infer<typeof replyMessageSchema>;

export type ServerMessage =
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number | null; error: ErrorInfo }
  | { kind: 'event'; event: BridgeEvent };

export function errorInfoOf(err: FerryError): ErrorInfo {
  return err.details === undefined
    ? { code: err.code, message: err.message }
    : { code: err.code, message: err.message, details: err.details };
}

/** Rebuilds the FerryError on the receiving side; an unknown code becomes ERR_INTERNAL, message kept. */
export function ferryErrorFrom(info: ErrorInfo): FerryError {
  const code = isErrorCode(info.code) ? info.code : 'ERR_INTERNAL';
  return new FerryError(code, info.message, info.details);
}
