// Control RPC: moves (online migration of a vv to another LV, local or on a peer agent reached with
// NBD over TLS-PSK), their progress events, and the raw-LV exports peers use as a move's target.
// Written by the console's orchestrator and by `ferry-agent ctl move ...`; the agent's move manager
// implements them. Mutating calls accept `expectEpoch`: a stale one is refused with ERR_STALE_EPOCH.

import { z } from 'zod';
import { epochSchema, localMappingSchema, mappingSchema, nameSchema, remoteMappingSchema } from './common.js';
import { defineMethod } from './jsonrpc.js';

export const MOVE_PHASE_NAMES = [
  'copying',
  'degraded',
  'verifying',
  'cutover',
  'done',
  'aborted',
  'failed',
] as const;
export const movePhaseSchema = z.enum(MOVE_PHASE_NAMES);

export const moveIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, { error: 'is not a move id' });

/** A PSK key as hex (what `--psk-key` and PSK files hold): 16 to 64 bytes. */
export const pskKeyHexSchema = z
  .string()
  .regex(/^([0-9a-fA-F]{2}){16,64}$/, { error: 'must be 32 to 128 hex digits' });

/**
 * The caller created the target LV for this move and it reads as zeroes (lv.create said so): the
 * copy skips the source's zero regions instead of sending them. Like nbdcopy's --target-is-zero, a
 * wrong claim leaves old bytes where the volume has zeroes. An LV the agent creates itself for a
 * local target needs no claim. The agent forgets it when the move resumes or the target fails, as
 * it cannot tell what the target holds then.
 */
const targetReadsAsZeroSchema = z.boolean().optional();

export const moveTargetSchema = z.discriminatedUnion('kind', [
  localMappingSchema.extend({ readsAsZero: targetReadsAsZeroSchema }),
  remoteMappingSchema.extend({ pskKey: pskKeyHexSchema, readsAsZero: targetReadsAsZeroSchema }),
]);
export type MoveTarget = z.infer<typeof moveTargetSchema>;

const rateSchema = z.number().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * A move's copy rate while hosts do I/O on the volume, unless the move names another. Measured on 2
 * cores (npm run bench:copy): host 4 KiB write p99 130-160x the idle figure with an unlimited copy,
 * about 3x with this cap; 8 MiB/s gave the same, what is left being the mirrored writes' round trip.
 */
export const DEFAULT_BUSY_THROTTLE = 16 * 1024 * 1024;

export const moveProgressSchema = z.object({
  phase: movePhaseSchema,
  paused: z.boolean(),
  /** The copy is held to its busy-hosts cap right now (absent from older agents). */
  hostsFirst: z.boolean().optional(),
  copiedBytes: z.number().int().nonnegative(),
  totalBytes: z.number().int().nonnegative(),
  verifiedBytes: z.number().int().nonnegative(),
  bytesPerSecond: z.number().nonnegative(),
  etaSeconds: z.number().nonnegative().nullable(),
  mirroredWrites: z.number().int().nonnegative(),
  dirtyBytes: z.number().int().nonnegative(),
  mismatches: z.number().int().nonnegative(),
  cutoverPauseMs: z.number().nonnegative().nullable(),
  error: z.string().optional(),
});

export const moveInfoSchema = moveProgressSchema.extend({
  id: moveIdSchema,
  volume: nameSchema,
  source: mappingSchema,
  target: mappingSchema,
  /** The vv's epoch when the move started; cutover makes it epoch + 1. */
  epoch: z.number().int().min(1),
  options: z.object({
    chunkSize: z.number().int().positive(),
    throttle: rateSchema.nullable(),
    /** The copy's limit while hosts do I/O on the volume (null: none); absent from older agents. */
    busyThrottle: rateSchema.nullable().optional(),
    verify: z.boolean(),
    keepSource: z.boolean(),
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type MoveInfo = z.infer<typeof moveInfoSchema>;

export const moveStart = defineMethod(
  'move.start',
  z.strictObject({
    volume: nameSchema,
    target: moveTargetSchema,
    chunkSize: z.number().int().positive().optional(),
    /** Copy traffic limit in bytes per second (0: none). */
    throttle: rateSchema.optional(),
    /** The copy's limit while hosts do I/O on the volume (0: none; default 16 MiB/s). */
    busyThrottle: rateSchema.optional(),
    verify: z.boolean().optional(),
    keepSource: z.boolean().optional(),
    expectEpoch: epochSchema.optional(),
  }),
  moveInfoSchema,
);

export const moveList = defineMethod(
  'move.list',
  z.strictObject({}).optional().default({}),
  z.object({ moves: z.array(moveInfoSchema) }),
);

export const moveStatus = defineMethod('move.status', z.strictObject({ id: moveIdSchema }), moveInfoSchema);

const moveControlParams = z.strictObject({ id: moveIdSchema, expectEpoch: epochSchema.optional() });
export const movePause = defineMethod('move.pause', moveControlParams, moveInfoSchema);
export const moveResume = defineMethod('move.resume', moveControlParams, moveInfoSchema);
export const moveAbort = defineMethod('move.abort', moveControlParams, moveInfoSchema);
/**
 * Changes the copy throttle of a running move, its busy-hosts cap, or both (0: no limit); mirrored
 * host writes are never limited.
 */
export const moveThrottle = defineMethod(
  'move.throttle',
  z
    .strictObject({
      id: moveIdSchema,
      throttle: rateSchema.optional(),
      busyThrottle: rateSchema.optional(),
      expectEpoch: epochSchema.optional(),
    })
    .refine((p) => p.throttle !== undefined || p.busyThrottle !== undefined, {
      message: 'give throttle, busyThrottle or both',
    }),
  moveInfoSchema,
);

/** The event every move publishes (at most 4 per second): `move.progress` with its progress. */
export const moveProgressEventSchema = moveProgressSchema.extend({
  type: z.literal('move.progress'),
  move: moveIdSchema,
  volume: nameSchema,
});
export type MoveProgressEvent = z.infer<typeof moveProgressEventSchema>;

// --- raw LV exports for peer agents (a move's target side) ---

export const lvExportInfoSchema = z.object({
  pool: nameSchema,
  name: nameSchema,
  /** The NBD export name peers open: POOL/NAME. */
  export: z.string(),
  pskIdentity: z.string(),
});
export type LvExportInfo = z.infer<typeof lvExportInfoSchema>;

export const lvExport = defineMethod(
  'lv.export',
  z.strictObject({
    pool: nameSchema,
    name: nameSchema,
    pskIdentity: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, { error: 'must be printable ASCII' }),
    pskKey: pskKeyHexSchema,
  }),
  lvExportInfoSchema,
);

export const lvUnexport = defineMethod(
  'lv.unexport',
  z.strictObject({ pool: nameSchema, name: nameSchema }),
  z.object({ pool: nameSchema, name: nameSchema }),
);

export const lvExports = defineMethod(
  'lv.exports',
  z.strictObject({}).optional().default({}),
  z.object({ exports: z.array(lvExportInfoSchema) }),
);
