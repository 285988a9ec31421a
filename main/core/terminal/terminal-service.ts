// The console's terminals, transport-free: opens a shell (local or on an appliance), keys it by a
// random id, forwards keystrokes and sizes, and turns its output into 'terminal.data' events and its end
// into one 'terminal.exit'. Output is coalesced for a few milliseconds so a busy shell (`cat` of a big
// file) makes tens of events a second, not thousands; a session that is never read does not grow
// memory without bound (oldest buffered output dropped past a cap, with a marker).

import { randomBytes } from 'node:crypto';
import type { BridgeEvent, TerminalTarget } from '../../../shared/bridge/index.js';
import { FerryError } from '../../../shared/errors.js';
import type { TerminalSession, TerminalSize } from './terminal-session.js';

export interface TerminalOpeners {
  local(size: TerminalSize): Promise<TerminalSession>;
  appliance(name: string, size: TerminalSize): Promise<TerminalSession>;
}

export interface TerminalServiceOptions {
  openers: TerminalOpeners;
  emit(event: BridgeEvent): void;
  /** Open terminals at once (default 32). */
  maxSessions?: number;
  /** How long output gathers before an event (default 8 ms). */
  flushDelayMs?: number;
}

/** One event carries at most this much text; more goes in the next event. */
const MAX_EVENT_CHARS = 256 * 1024;
/** Output waiting for a flush beyond this is cut from the front. */
const MAX_PENDING_CHARS = 4 * 1024 * 1024;

interface Open {
  session: TerminalSession;
  pending: string;
  timer: ReturnType<typeof setTimeout> | null;
}

export class TerminalService {
  private readonly open = new Map<string, Open>();
  private readonly opening = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly options: TerminalServiceOptions) {}

  get count(): number {
    return this.open.size;
  }

  async start(target: TerminalTarget, size: TerminalSize): Promise<{ id: string }> {
    if (this.closed) throw new FerryError('ERR_SHUTTING_DOWN', 'the console is shutting down');
    const max = this.options.maxSessions ?? 32;
    if (this.open.size + this.opening.size >= max) {
      throw new FerryError('ERR_UNSUPPORTED', `${max} terminals are open already: close one first`);
    }
    const starting =
      target.kind === 'local'
        ? this.options.openers.local(size)
        : this.options.openers.appliance(target.appliance, size);
    this.opening.add(starting);
    let session: TerminalSession;
    try {
      session = await starting;
    } finally {
      this.opening.delete(starting);
    }
    if (this.closed) {
      session.close();
      throw new FerryError('ERR_SHUTTING_DOWN', 'the console is shutting down');
    }
    const id = `t${randomBytes(9).toString('base64url')}`;
    const entry: Open = { session, pending: '', timer: null };
    this.open.set(id, entry);
    session.onData((data) => this.queue(id, entry, data));
    session.onExit((code) => {
      this.flush(id, entry);
      this.open.delete(id);
      this.options.emit({ type: 'terminal.exit', payload: { id, code } });
    });
    return { id };
  }

  write(id: string, data: string): void {
    this.require(id).session.write(data);
  }

  resize(id: string, size: TerminalSize): void {
    this.require(id).session.resize(size);
  }

  /** Idempotent: an id that already ended is not an error. */
  close(id: string): void {
    this.open.get(id)?.session.close();
  }

  /** Ends every terminal (the console is closing); safe to call twice. */
  closeAll(): void {
    this.closed = true;
    for (const entry of this.open.values()) entry.session.close();
  }

  private require(id: string): Open {
    const entry = this.open.get(id);
    if (!entry) {
      throw new FerryError(
        'ERR_NOT_FOUND',
        `terminal ${id} is not open (it ended or was closed): open a new one`,
      );
    }
    return entry;
  }

  private queue(id: string, entry: Open, data: string): void {
    entry.pending += data;
    if (entry.pending.length > MAX_PENDING_CHARS) {
      entry.pending = `\r\n[ferry: output dropped]\r\n${entry.pending.slice(-MAX_PENDING_CHARS / 2)}`;
    }
    entry.timer ??= setTimeout(() => this.flush(id, entry), this.options.flushDelayMs ?? 8);
  }

  private flush(id: string, entry: Open): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    while (entry.pending.length > 0) {
      let cut = Math.min(entry.pending.length, MAX_EVENT_CHARS);
      // Never split a surrogate pair between two events.
      const last = entry.pending.charCodeAt(cut - 1);
      if (cut < entry.pending.length && last >= 0xd800 && last <= 0xdbff) cut--;
      const data = entry.pending.slice(0, cut);
      entry.pending = entry.pending.slice(cut);
      this.options.emit({ type: 'terminal.data', payload: { id, data } });
    }
  }
}
