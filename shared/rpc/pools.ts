// Control RPC: pools (where LVs live). `dir` pools hold sparse files in a folder; `device` pools hold
// existing block devices, one LV per whole device.

import { z } from 'zod';
import { absolutePathSchema, emptyParamsSchema, nameSchema, sizeSchema } from './common.js';
import { defineMethod } from './jsonrpc.js';

export const poolKindSchema = z.enum(['dir', 'device']);

export const poolInfoSchema = z.object({
  name: nameSchema,
  kind: poolKindSchema,
  /** dir pools: the folder. */
  path: z.string().optional(),
  /** device pools: the block devices. */
  devices: z.array(z.string()).optional(),
  /** Capacity set by the admin (`--capacity`), if any. */
  capacity: z.number().optional(),
  size: z.number().int().nonnegative(),
  used: z.number().int().nonnegative(),
  free: z.number().int().nonnegative(),
  lvCount: z.number().int().nonnegative(),
  /** pool add --force: each device taken despite its problems, and what that destroys (audit). */
  forced: z
    .array(z.object({ device: z.string(), problems: z.array(z.string()), loss: z.string() }))
    .optional(),
});
export type PoolInfo = z.infer<typeof poolInfoSchema>;

export const poolAdd = defineMethod(
  'pool.add',
  z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('dir'),
      name: nameSchema,
      path: absolutePathSchema,
      capacity: sizeSchema.optional(),
    }),
    z.strictObject({
      kind: z.literal('device'),
      name: nameSchema,
      devices: z.array(absolutePathSchema).min(1, { error: 'must name at least one device' }).max(256),
      /** Take devices that hold data or are in use (after the admin saw what would be lost). */
      force: z.boolean().optional(),
    }),
  ]),
  poolInfoSchema,
);

export const poolList = defineMethod(
  'pool.list',
  emptyParamsSchema,
  z.object({ pools: z.array(poolInfoSchema) }),
);

export const poolRemove = defineMethod(
  'pool.remove',
  z.strictObject({ name: nameSchema }),
  z.object({ name: nameSchema }),
);
