// RPC methods of the events domain: events.subscribe pushes every event to the calling connection
// as {"jsonrpc":"2.0","method":"event","params":<event>} until events.unsubscribe or close;
// events.list returns the recent backlog. Pushed events are checked against the event schema.

import {
  agentEventSchema,
  EVENT_NOTIFICATION,
  eventsList,
  eventsSubscribe,
  eventsUnsubscribe,
} from '../../shared/rpc/events.js';
import type { AgentServices } from './agent-services.js';
import type { MethodTable } from './method-table.js';

export function registerEventMethods(table: MethodTable, services: AgentServices): void {
  const subscriptions = new Map<number, () => void>();

  table.register(eventsSubscribe, ({ since }, ctx) => {
    if (!subscriptions.has(ctx.connectionId)) {
      const lastSeq = services.events.lastSeq;
      // Backlog events (after `since`) are pushed at once, before this reply; live ones follow.
      const stop = services.events.subscribe(
        (event) => {
          const checked = agentEventSchema.safeParse(event);
          if (checked.success) ctx.notify(EVENT_NOTIFICATION, checked.data);
        },
        since !== undefined && since < lastSeq ? { since } : {},
      );
      subscriptions.set(ctx.connectionId, stop);
      ctx.onClose(() => {
        subscriptions.get(ctx.connectionId)?.();
        subscriptions.delete(ctx.connectionId);
      });
    }
    return { lastSeq: services.events.lastSeq };
  });

  table.register(eventsUnsubscribe, (_params, ctx) => {
    const stop = subscriptions.get(ctx.connectionId);
    stop?.();
    subscriptions.delete(ctx.connectionId);
    return { subscribed: false };
  });

  table.register(eventsList, ({ since, limit }) => ({
    events: services.events.recent({ since, limit }),
    lastSeq: services.events.lastSeq,
  }));
}
