// Control RPC: events. Every event has a sequence number, a time and a type; other fields depend on
// the type (move events add theirs in shared/rpc/moves.ts). Subscribers get them as notifications
// {"jsonrpc":"2.0","method":"event","params":<event>} on the connection that subscribed.

import { z } from 'zod';
import { mappingSchema, nameSchema } from './common.js';
import { defineMethod } from './jsonrpc.js';

export const EVENT_NOTIFICATION = 'event';

/** Fields every event carries; the rest is type-specific and kept as is. */
export const agentEventSchema = z.looseObject({
  seq: z.number().int().positive(),
  time: z.string(),
  type: z.string().min(1),
});
export type AgentEvent = z.infer<typeof agentEventSchema>;

/** The inventory events this agent emits (the `type` and its fields). */
export const inventoryEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('pool.added'),
    pool: nameSchema,
    /** pool add --force: devices taken despite their problems, and what that destroyed (audit). */
    forced: z
      .array(z.object({ device: z.string(), problems: z.array(z.string()), loss: z.string() }))
      .optional(),
  }),
  z.object({ type: z.literal('pool.removed'), pool: nameSchema }),
  z.object({ type: z.literal('lv.created'), pool: nameSchema, lv: nameSchema, size: z.number() }),
  z.object({ type: z.literal('lv.deleted'), pool: nameSchema, lv: nameSchema }),
  z.object({ type: z.literal('volume.created'), volume: nameSchema, uuid: z.string(), size: z.number() }),
  z.object({ type: z.literal('volume.deleted'), volume: nameSchema, uuid: z.string() }),
  z.object({
    type: z.literal('volume.mapping-changed'),
    volume: nameSchema,
    epoch: z.number().int(),
    mapping: mappingSchema,
    previous: mappingSchema,
  }),
  z.object({ type: z.literal('volume.unavailable'), volume: nameSchema, error: z.string() }),
  /** Access rules or PSK identities changed (agent/access); `disconnected` lists the clients closed. */
  z.object({
    type: z.literal('volume.access-changed'),
    volume: nameSchema,
    change: z.string(),
    policy: z.looseObject({}),
    disconnected: z.array(z.string()),
  }),
  z.object({ type: z.literal('agent.started'), version: z.string() }),
  z.object({ type: z.literal('agent.stopping'), signal: z.string() }),
]);
export type InventoryEvent = z.infer<typeof inventoryEventSchema>;

const sinceSchema = z.number().int().nonnegative().optional();

/** Starts pushing events to this connection: first those after `since` still in the backlog, then live. */
export const eventsSubscribe = defineMethod(
  'events.subscribe',
  z.strictObject({ since: sinceSchema }).optional().default({}),
  z.object({ lastSeq: z.number().int().nonnegative() }),
);

export const eventsUnsubscribe = defineMethod(
  'events.unsubscribe',
  z.strictObject({}).optional().default({}),
  z.object({ subscribed: z.boolean() }),
);

/** Recent events (a bounded backlog kept in memory), oldest first. */
export const eventsList = defineMethod(
  'events.list',
  z
    .strictObject({ since: sinceSchema, limit: z.number().int().positive().max(10_000).optional() })
    .optional()
    .default({}),
  z.object({ events: z.array(agentEventSchema), lastSeq: z.number().int().nonnegative() }),
);
