// The agent's event bus: publish(event) stamps a sequence number and time, keeps a bounded backlog
// (so `events` and late subscribers see recent history) and hands the event to every subscriber.
// The move engine publishes its progress here too.
//
//   bus.publish({ type: 'move.progress', move: 'm-1', ... })
//   const stop = bus.subscribe((e) => ..., { since: lastSeenSeq })   // backlog after `since`, then live
//   bus.recent({ since, limit })

import type { AgentEvent } from '../../shared/rpc/events.js';

export type EventInput = { type: string } & Record<string, unknown>;
export type EventListener = (event: AgentEvent) => void;

export class EventBus {
  private seq = 0;
  private readonly backlog: AgentEvent[] = [];
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly backlogSize = 1000) {}

  get lastSeq(): number {
    return this.seq;
  }

  publish(input: EventInput): AgentEvent {
    const event: AgentEvent = { ...input, seq: ++this.seq, time: new Date().toISOString(), type: input.type };
    this.backlog.push(event);
    if (this.backlog.length > this.backlogSize) this.backlog.shift();
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A failing subscriber (a closed socket) must not stop the others.
      }
    }
    return event;
  }

  /** Delivers backlog events with seq > since (if given) synchronously, then live ones. */
  subscribe(listener: EventListener, opts: { since?: number } = {}): () => void {
    if (opts.since !== undefined) for (const e of this.recent({ since: opts.since })) listener(e);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  recent(opts: { since?: number; limit?: number } = {}): AgentEvent[] {
    const since = opts.since ?? 0;
    const events = this.backlog.filter((e) => e.seq > since);
    return opts.limit !== undefined ? events.slice(-opts.limit) : events;
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}
