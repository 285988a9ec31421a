// Maintenance windows as admins write them, "22:00-04:00" in the console's local time (a window may
// cross midnight). The runner starts moves only inside the window; moves already running finish.
import { FerryError } from '../../../shared/errors.js';

export interface RunWindow {
  /** Minutes after local midnight. */
  start: number;
  end: number;
  text: string;
}

export interface WindowState {
  inside: boolean;
  /** Milliseconds until the window opens (0 when inside). */
  opensInMs: number;
  /** Milliseconds until it closes (0 when outside). */
  closesInMs: number;
}

const DAY_MINUTES = 24 * 60;

export function parseWindow(text: string): RunWindow {
  const m = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(text);
  const minutes = (h: string, mm: string) => Number(h) * 60 + Number(mm);
  const bad = !m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[4]) > 59;
  if (bad || Number(m[3]) > 24 || (Number(m[3]) === 24 && Number(m[4]) > 0)) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `invalid window ${JSON.stringify(text)}: use HH:MM-HH:MM in local time, e.g. 22:00-04:00`,
    );
  }
  const start = minutes(m[1], m[2]);
  const endRaw = minutes(m[3], m[4]);
  const end = endRaw % DAY_MINUTES;
  // Equal ends are empty, except the whole day written as 00:00-24:00.
  if (start === end && endRaw !== DAY_MINUTES) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `the window ${text} is empty: its start and end are the same`,
    );
  }
  return { start, end, text: text.trim() };
}

export function windowState(window: RunWindow, now: Date): WindowState {
  const msOfDay =
    ((now.getHours() * 60 + now.getMinutes()) * 60 + now.getSeconds()) * 1000 + now.getMilliseconds();
  const startMs = window.start * 60_000;
  const endMs = window.end * 60_000;
  const dayMs = DAY_MINUTES * 60_000;
  const until = (target: number) => (target - msOfDay + dayMs) % dayMs;
  if (window.start === window.end) return { inside: true, opensInMs: 0, closesInMs: dayMs };
  const inside =
    window.start < window.end ? msOfDay >= startMs && msOfDay < endMs : msOfDay >= startMs || msOfDay < endMs;
  return inside
    ? { inside, opensInMs: 0, closesInMs: until(endMs) }
    : { inside, opensInMs: until(startMs), closesInMs: 0 };
}
