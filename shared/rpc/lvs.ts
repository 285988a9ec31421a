// Control RPC: logical volumes (a sparse file of a dir pool, or one whole device of a device pool).

import { z } from 'zod';
import { nameSchema, sizeSchema } from './common.js';
import { defineMethod } from './jsonrpc.js';

export const lvInfoSchema = z.object({
  pool: nameSchema,
  name: nameSchema,
  size: z.number().int().positive(),
  /** Bytes actually allocated on disk (sparse files), or null when unknown (devices). */
  allocated: z.number().int().nonnegative().nullable(),
  path: z.string(),
  /** The vv whose mapping points at this LV, if any. */
  mappedBy: nameSchema.nullable(),
  createdAt: z.string(),
});
export type LvInfo = z.infer<typeof lvInfoSchema>;

/**
 * A new LV: `readsAsZero` when it reads as zeroes until written (a new sparse file of a dir pool),
 * which lets a move into it skip the source's zero regions (move.start's `readsAsZero` target flag).
 * Absent from older agents: then nothing is known about its content.
 */
export const createdLvSchema = lvInfoSchema.extend({ readsAsZero: z.boolean().optional() });
export type CreatedLv = z.infer<typeof createdLvSchema>;

export const lvCreate = defineMethod(
  'lv.create',
  z.strictObject({ pool: nameSchema, name: nameSchema, size: sizeSchema }),
  createdLvSchema,
);

export const lvList = defineMethod(
  'lv.list',
  z.strictObject({ pool: nameSchema.optional() }).optional().default({}),
  z.object({ lvs: z.array(lvInfoSchema) }),
);

export const lvDelete = defineMethod(
  'lv.delete',
  /** `force`: an LV exported to peer agents is unexported first (its peers disconnected). */
  z.strictObject({ pool: nameSchema, name: nameSchema, force: z.boolean().optional() }),
  z.object({
    pool: nameSchema,
    name: nameSchema,
    /** Peers disconnected by --force (absent when nobody was). */
    disconnected: z.array(z.string()).optional(),
  }),
);
