// The engine's half of a cutover: flush the target while host I/O still flows (so the flush inside
// the hold has almost nothing to write), then let the volume layer hold, drain and call back; the
// switch is allowed only if, with I/O held, nothing is dirty, unflushed or in flight.

import type { CutoverHook } from './copy-options.js';
import type { TargetLink } from './target-link.js';

export interface CutoverState {
  link: TargetLink;
  hook: CutoverHook;
  /** The move may still switch (not aborted or failed). */
  active(): boolean;
  /** The copy is complete: cursor at the end, nothing dirty, no target write in flight. */
  caughtUp(): boolean;
}

/** The pause in ms when the mapping was switched, or null when the move must catch up first. */
export async function attemptCutover(s: CutoverState): Promise<number | null> {
  await s.link.flush().catch(() => {});
  if (!s.link.healthy || !s.active()) return null;
  const started = performance.now();
  const result = await s.hook({
    target: s.link.current,
    prepareSwitch: async () => {
      if (!s.active() || !s.link.healthy) return false;
      try {
        await s.link.flush();
      } catch {
        return false;
      }
      return s.caughtUp() && s.link.unflushedRegions.isEmpty;
    },
  });
  if (!result.switched) return null;
  return Math.round((result.pauseMs ?? performance.now() - started) * 100) / 100;
}
