// Control RPC: online moves of a vv to another LV (local, or remote over NBD with TLS-PSK), and the
// raw-LV exports that peer agents use as a move's target. Written by the console's orchestrator and by
// `ferry-agent ctl move ...`; the agent's move manager implements them. Progress is pushed as events
// of type 'move.progress' (at most 4 per second per move).

import { z } from 'zod';
import { epochSchema, nameSchema } from './common.js';
import { defineMethod } from './jsonrpc.js';

export const movePhaseSchema = z.enum([
  'copying',
  'degraded',
  'verifying',
  'cutover',
  'done',
  'aborted',
  'failed',
]);

const hexKeySchema = z
  .string()
  .regex(/^[0-9a-fA-F]{32,128}$/, { error: 'must be 16-64 bytes of hex (e.g. from openssl rand -hex 32)' });
const pskIdentitySchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(128, { error: 'must be at most 128 characters' })
  .regex(/^[A-Za-z0-9._:@-]+$/, { error: 'may hold letters, digits and . _ : @ -' });

/** Where a move copies to: an LV of this agent's pools, or a peer's LV export over NBD + TLS-PSK. */
export const moveTargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local'), pool: nameSchema, lv: nameSchema }),
  z.strictObject({
    kind: z.literal('remote'),
    url: z.string().regex(/^nbds:\/\/[^/\s]+:\d+\/\S+$/, { error: 'must look like nbds://HOST:PORT/EXPORT' }),
    pskIdentity: pskIdentitySchema,
    pskKey: hexKeySchema,
  }),
]);
export type MoveTarget = z.infer<typeof moveTargetSchema>;

export const moveInfoSchema = z.object({
  id: z.string(),
  volume: nameSchema,
  /** The vv's mapping before the move, as the agent describes it (pool/LV or URL). */
  source: z.string(),
  /** The target, with any key left out. */
  target: z.string(),
  phase: movePhaseSchema,
  paused: z.boolean(),
  copiedBytes: z.number().nonnegative(),
  totalBytes: z.number().nonnegative(),
  verifiedBytes: z.number().nonnegative(),
  bytesPerSecond: z.number().nonnegative(),
  etaSeconds: z.number().nonnegative().nullable(),
  mirroredWrites: z.number().int().nonnegative(),
  dirtyBytes: z.number().nonnegative(),
  mismatches: z.number().int().nonnegative(),
  cutoverPauseMs: z.number().nonnegative().nullable(),
  /** The vv's epoch when the move started, and after cutover. */
  epochBefore: epochSchema,
  epochAfter: epochSchema.nullable(),
  options: z.object({
    chunkSize: z.number().int().positive(),
    throttleBps: z.number().positive().nullable(),
    verify: z.boolean(),
    keepSource: z.boolean(),
  }),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  error: z.string().nullable(),
});
export type MoveInfo = z.infer<typeof moveInfoSchema>;

export const moveStart = defineMethod(
  'move.start',
  z.strictObject({
    volume: nameSchema,
    to: moveTargetSchema,
    chunkSize: z
      .number()
      .int()
      .min(64 * 1024)
      .max(64 * 1024 * 1024)
      .optional(),
    /** Bytes per second of copy traffic (never of mirrored host writes). */
    throttleBps: z.number().positive().nullable().optional(),
    verify: z.boolean().optional(),
    keepSource: z.boolean().optional(),
    expectEpoch: epochSchema.optional(),
  }),
  moveInfoSchema,
);

const moveIdParams = z.strictObject({ id: z.string().min(1, { error: 'must name a move' }) });

export const moveList = defineMethod(
  'move.list',
  z.strictObject({}).optional().default({}),
  z.object({ moves: z.array(moveInfoSchema) }),
);
export const moveStatus = defineMethod('move.status', moveIdParams, moveInfoSchema);
export const movePause = defineMethod('move.pause', moveIdParams, moveInfoSchema);
export const moveResume = defineMethod('move.resume', moveIdParams, moveInfoSchema);
export const moveAbort = defineMethod('move.abort', moveIdParams, moveInfoSchema);
/** Changes the copy throttle of a running move (null: no limit). */
export const moveThrottle = defineMethod(
  'move.throttle',
  z.strictObject({ id: z.string().min(1), throttleBps: z.number().positive().nullable() }),
  moveInfoSchema,
);

/** A 'move.progress' event: the move as move.status would report it. */
export const moveProgressEventSchema = z.object({ type: z.literal('move.progress'), move: moveInfoSchema });

/** Serves a raw LV to peer agents as export POOL/NAME, only over TLS with this PSK. */
export const lvExport = defineMethod(
  'lv.export',
  z.strictObject({
    pool: nameSchema,
    name: nameSchema,
    pskIdentity: pskIdentitySchema,
    pskKey: hexKeySchema,
  }),
  z.object({ exportName: z.string(), pskIdentity: z.string() }),
);
export const lvUnexport = defineMethod(
  'lv.unexport',
  z.strictObject({ pool: nameSchema, name: nameSchema }),
  z.object({ exportName: z.string(), removed: z.boolean() }),
);
