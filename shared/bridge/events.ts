// The bridge's event streams, pushed by the core to every subscriber. Each event is { type, payload };
// move progress comes at up to 4 per second per move, so its payload is the whole move (no merging on
// the renderer's side) and the other streams stay small.

import { z } from 'zod';
import { errorInfoSchema, nameSchema, timeSchema } from './fields.js';
import {
  applianceSchema,
  applianceStatusSchema,
  moveSchema,
  planStepStateSchema,
  poolSchema,
  volumeSchema,
} from './model.js';
import { terminalDataSchema, terminalExitSchema } from './terminal.js';

/**
 * Entities added or changed (upserts, keyed by name or appliance/pool) and those removed. A core that
 * cannot tell what changed may send everything with `full: true`: the renderer then replaces its copy.
 */
export const inventoryChangedSchema = z.object({
  full: z.boolean(),
  appliances: z.array(applianceSchema),
  pools: z.array(poolSchema),
  volumes: z.array(volumeSchema),
  removed: z.object({
    appliances: z.array(nameSchema),
    pools: z.array(z.object({ appliance: nameSchema, pool: nameSchema })),
    volumes: z.array(nameSchema),
  }),
  asOf: timeSchema.nullable(),
});
export type InventoryChanged = z.infer<typeof inventoryChangedSchema>;

export const applianceStatusEventSchema = z.object({
  appliance: nameSchema,
  status: applianceStatusSchema,
  message: z.string().nullable(),
  lastSeen: timeSchema.nullable(),
  latencyMs: z.number().nonnegative().nullable(),
});
export type ApplianceStatusEvent = z.infer<typeof applianceStatusEventSchema>;

export const planProgressSchema = z.object({
  plan: nameSchema,
  state: z.enum(['running', 'done', 'failed', 'stopped']),
  steps: z.array(
    z.object({
      id: z.string(),
      state: planStepStateSchema,
      moveId: z.string().nullable(),
      error: errorInfoSchema.nullable(),
    }),
  ),
  message: z.string().nullable(),
});
export type PlanProgress = z.infer<typeof planProgressSchema>;

export const bridgeEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('inventory.changed'), payload: inventoryChangedSchema }),
  z.object({ type: z.literal('move.progress'), payload: moveSchema }),
  z.object({ type: z.literal('plan.progress'), payload: planProgressSchema }),
  z.object({ type: z.literal('appliance.status'), payload: applianceStatusEventSchema }),
  z.object({ type: z.literal('terminal.data'), payload: terminalDataSchema }),
  z.object({ type: z.literal('terminal.exit'), payload: terminalExitSchema }),
]);
export type BridgeEvent = z.infer<typeof bridgeEventSchema>;
export type BridgeEventType = BridgeEvent['type'];
export type EventPayload<T extends BridgeEventType> = Extract<BridgeEvent, { type: T }>['payload'];

export type BridgeEventListener = (event: BridgeEvent) => void;
