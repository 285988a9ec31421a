// The agent's inventory (pools, LVs, vvs with their mapping and epoch) as ONE durable document, so
// that a change touching several records (a vv and its LV) is written in one atomic step.
//
// API: const inv = await Inventory.load(store)
//      inv.snapshot()                          // current, read-only view
//      await inv.transaction(async (draft) => { ...mutate draft...; return x })
// A transaction runs alone (a mutex), works on a copy, and is written durably before its result is
// returned; if it throws, nothing changes. Lock order: a vv's mapping lock, then this mutex.

import { z } from 'zod';
import { mappingSchema } from '../../shared/rpc/common.js';
import { AsyncMutex } from './async-mutex.js';
import type { StateStore } from './state-store.js';

export const INVENTORY_DOC = 'inventory';

export const poolRecordSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('dir'),
    name: z.string(),
    path: z.string(),
    capacity: z.number().optional(),
    createdAt: z.string(),
  }),
  z.object({
    kind: z.literal('device'),
    name: z.string(),
    devices: z.array(z.string()),
    createdAt: z.string(),
  }),
]);
export type PoolRecord = z.infer<typeof poolRecordSchema>;

export const lvRecordSchema = z.object({
  pool: z.string(),
  name: z.string(),
  size: z.number(),
  /** The file (dir pool) or the block device (device pool). */
  path: z.string(),
  createdAt: z.string(),
});
export type LvRecord = z.infer<typeof lvRecordSchema>;

export const volumeRecordSchema = z.object({
  name: z.string(),
  uuid: z.string(),
  size: z.number(),
  epoch: z.number().int().min(1),
  mapping: mappingSchema,
  createdAt: z.string(),
  /** Reserved for access control (allowed clients, read-only); not enforced yet. */
  access: z.looseObject({}).optional(),
});
export type VolumeRecord = z.infer<typeof volumeRecordSchema>;

export const inventorySchema = z.object({
  version: z.literal(1),
  pools: z.array(poolRecordSchema),
  lvs: z.array(lvRecordSchema),
  volumes: z.array(volumeRecordSchema),
});
export type InventoryData = z.infer<typeof inventorySchema>;

export class Inventory {
  private readonly mutex = new AsyncMutex();

  private constructor(
    private readonly store: StateStore,
    private data: InventoryData,
  ) {}

  static async load(store: StateStore): Promise<Inventory> {
    const data = (await store.read(INVENTORY_DOC, inventorySchema)) ?? {
      version: 1 as const,
      pools: [],
      lvs: [],
      volumes: [],
    };
    return new Inventory(store, data);
  }

  snapshot(): Readonly<InventoryData> {
    return this.data;
  }

  transaction<T>(fn: (draft: InventoryData) => Promise<T> | T): Promise<T> {
    return this.mutex.run(async () => {
      const draft = structuredClone(this.data);
      const result = await fn(draft);
      const checked = inventorySchema.parse(draft);
      await this.store.write(INVENTORY_DOC, checked);
      this.data = checked;
      return result;
    });
  }
}
