// EventBus: numbered events, a bounded backlog, late subscribers catch up from `since`, and a
// throwing subscriber does not stop the others.
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../agent/rpc/event-bus.js';

describe('EventBus', () => {
  it('numbers events, keeps a bounded backlog and replays it from since', () => {
    const bus = new EventBus(3);
    for (let i = 0; i < 5; i++) bus.publish({ type: 'test', i });
    expect(bus.lastSeq).toBe(5);
    expect(bus.recent().map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(bus.recent({ since: 4 }).map((e) => e.seq)).toEqual([5]);
    expect(bus.recent({ limit: 1 }).map((e) => e.seq)).toEqual([5]);
    const seen: number[] = [];
    const stop = bus.subscribe((e) => seen.push(e.seq), { since: 3 });
    bus.publish({ type: 'test' });
    stop();
    bus.publish({ type: 'test' });
    expect(seen).toEqual([4, 5, 6]);
  });

  it('delivers to every subscriber even when one throws', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('closed socket');
    });
    bus.subscribe((e) => seen.push(e.type));
    const event = bus.publish({ type: 'volume.created', volume: 'v' });
    expect(seen).toEqual(['volume.created']);
    expect(event).toMatchObject({ seq: 1, type: 'volume.created', volume: 'v', time: expect.any(String) });
  });
});
