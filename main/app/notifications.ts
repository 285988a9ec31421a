// Native notifications when a move or a plan ends: one per move or plan run, worded for an admin who is
// looking at another window. The wording is a pure function of the bridge event (unit-tested); main.ts
// shows it with Electron's Notification.

import type { BridgeEvent } from '../../shared/bridge/events.js';
import { formatPoolRef } from '../../shared/bridge/fields.js';

export interface Notice {
  title: string;
  body: string;
}

/** Returns the notice for an event that ends something, once per move id or plan run. */
export function createEndNotifier(): (event: BridgeEvent) => Notice | null {
  const told = new Set<string>();
  const running = new Set<string>();
  return (event) => {
    if (event.type === 'move.progress') {
      const move = event.payload;
      if (move.phase !== 'done' && move.phase !== 'failed' && move.phase !== 'aborted') return null;
      if (told.has(move.id)) return null;
      told.add(move.id);
      const where = `${move.volume} → ${formatPoolRef(move.to)}`;
      if (move.phase === 'done') {
        const pause =
          move.cutoverPauseMs === null ? '' : ` (I/O paused ${Math.round(move.cutoverPauseMs)} ms)`;
        return { title: 'Move finished', body: `${where}${pause}` };
      }
      if (move.phase === 'aborted')
        return { title: 'Move aborted', body: `${where}: the volume stays where it was` };
      return { title: 'Move failed', body: `${where}: ${move.error?.message ?? 'see the move in Ferry'}` };
    }
    if (event.type === 'plan.progress') {
      const plan = event.payload;
      if (plan.state === 'running') {
        running.add(plan.plan);
        return null;
      }
      if (!running.delete(plan.plan)) return null;
      const done = plan.steps.filter((s) => s.state === 'done').length;
      const title =
        plan.state === 'done' ? 'Plan finished' : plan.state === 'failed' ? 'Plan failed' : 'Plan stopped';
      return {
        title,
        body: `${plan.plan}: ${done} of ${plan.steps.length} moves done${plan.message ? ` — ${plan.message}` : ''}`,
      };
    }
    return null;
  };
}
