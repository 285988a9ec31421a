// The terminal part of the bridge contract: a shell on this machine (the admin's own, through a
// pseudo-terminal) or on an appliance (over its verified SSH connection). The renderer opens one with
// its size, sends keystrokes with terminal.write, and receives output as 'terminal.data' events (UTF-8
// text) until a 'terminal.exit'. Both shells carry it unchanged: the browser shell over its WebSocket,
// the Electron app over IPC and its MessagePort.

import { z } from 'zod';
import { nameSchema } from './fields.js';

/** Most keystrokes are a byte; a paste may be long, so a write carries up to 64 KiB of text. */
export const MAX_TERMINAL_WRITE_CHARS = 64 * 1024;

export const terminalIdSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be a terminal id from terminal.open' });

const colsSchema = z
  .number({ error: 'must be a number' })
  .int({ error: 'must be a whole number of columns' })
  .min(2, { error: 'must be 2-1000 columns' })
  .max(1000, { error: 'must be 2-1000 columns' });
const rowsSchema = z
  .number({ error: 'must be a number' })
  .int({ error: 'must be a whole number of rows' })
  .min(1, { error: 'must be 1-500 rows' })
  .max(500, { error: 'must be 1-500 rows' });

export const terminalTargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local') }),
  z.strictObject({ kind: z.literal('appliance'), appliance: nameSchema }),
]);
export type TerminalTarget = z.infer<typeof terminalTargetSchema>;

const terminalOk = z.object({ ok: z.literal(true) });
const terminalId = z.strictObject({ id: terminalIdSchema });

export const terminalMethods = {
  /** Starts a shell; its output arrives as 'terminal.data' events for the returned id. */
  'terminal.open': {
    params: z.strictObject({ target: terminalTargetSchema, cols: colsSchema, rows: rowsSchema }),
    result: z.object({ id: terminalIdSchema }),
  },
  /** Keystrokes or pasted text, as typed (UTF-8 on the way to the shell). */
  'terminal.write': {
    params: z.strictObject({
      id: terminalIdSchema,
      data: z.string().max(MAX_TERMINAL_WRITE_CHARS, { error: 'is longer than 64 KiB: send it in parts' }),
    }),
    result: terminalOk,
  },
  'terminal.resize': {
    params: z.strictObject({ id: terminalIdSchema, cols: colsSchema, rows: rowsSchema }),
    result: terminalOk,
  },
  /** Ends the shell (idempotent: closing an ended terminal is not an error). */
  'terminal.close': { params: terminalId, result: terminalOk },
} as const;

export const terminalDataSchema = z.object({ id: terminalIdSchema, data: z.string() });
export type TerminalData = z.infer<typeof terminalDataSchema>;

/** `code`: the shell's exit status; null when it was killed or its connection dropped. */
export const terminalExitSchema = z.object({ id: terminalIdSchema, code: z.number().int().nullable() });
export type TerminalExit = z.infer<typeof terminalExitSchema>;
