// Control RPC: virtual volumes (what hosts see as NBD exports) and their mapping to an LV.
// Mutating calls accept `expectEpoch`: a stale one is refused with ERR_STALE_EPOCH (fencing).

import { z } from 'zod';
import { emptyParamsSchema, epochSchema, mappingSchema, nameSchema, sizeSchema } from './common.js';
import { defineMethod } from './jsonrpc.js';

export const volumeInfoSchema = z.object({
  name: nameSchema,
  uuid: z.string(),
  size: z.number().int().positive(),
  epoch: z.number().int().min(1),
  mapping: mappingSchema,
  /** online: served; unavailable: its LV could not be opened (see `error`). */
  state: z.enum(['online', 'unavailable']),
  error: z.string().optional(),
  /** NBD connections that have this vv open now. */
  connections: z.number().int().nonnegative(),
  createdAt: z.string(),
});
export type VolumeInfo = z.infer<typeof volumeInfoSchema>;

export const volumeCreate = defineMethod(
  'volume.create',
  z.strictObject({ name: nameSchema, size: sizeSchema, pool: nameSchema }),
  volumeInfoSchema,
);

export const volumeList = defineMethod(
  'volume.list',
  emptyParamsSchema,
  z.object({ volumes: z.array(volumeInfoSchema) }),
);

export const volumeGet = defineMethod('volume.get', z.strictObject({ name: nameSchema }), volumeInfoSchema);

export const volumeDelete = defineMethod(
  'volume.delete',
  z.strictObject({
    name: nameSchema,
    expectEpoch: epochSchema.optional(),
    /** Disconnect NBD clients that have it open instead of refusing with ERR_VOLUME_BUSY. */
    force: z.boolean().optional(),
  }),
  z.object({ name: nameSchema }),
);
