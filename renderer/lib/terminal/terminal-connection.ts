// One terminal over the bridge: terminal.open with the pane's size, keystrokes out with terminal.write,
// output in from 'terminal.data' events until 'terminal.exit'. Events for the id may arrive before
// terminal.open's answer (Electron sends events on their own port), so output is held from the start
// and handed over once the id is known.

import type { BridgeEvent, TerminalTarget } from '../../../shared/bridge/index.js';
import type { Backend } from '../backend/backend.js';

export interface TerminalHandlers {
  onData(data: string): void;
  onExit(code: number | null): void;
}

export class TerminalConnection {
  #id: string | null = null;
  #early: BridgeEvent[] = [];
  #ended = false;
  #unsubscribe: () => void;
  /** Keystrokes typed before the shell answered, sent in order once it has. */
  #queued = '';
  #writing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly backend: Backend,
    private readonly handlers: TerminalHandlers,
  ) {
    this.#unsubscribe = backend.subscribe((event) => this.#receive(event));
  }

  /** Opens the shell; rejects with the core's FerryError (e.g. ERR_HOST_KEY, ERR_UNREACHABLE). */
  static async open(
    backend: Backend,
    target: TerminalTarget,
    size: { cols: number; rows: number },
    handlers: TerminalHandlers,
  ): Promise<TerminalConnection> {
    const connection = new TerminalConnection(backend, handlers);
    try {
      const { id } = await backend.call('terminal.open', { target, ...size });
      connection.#started(id);
    } catch (err) {
      connection.#unsubscribe();
      throw err;
    }
    return connection;
  }

  get id(): string | null {
    return this.#id;
  }

  get ended(): boolean {
    return this.#ended;
  }

  write(data: string): void {
    if (this.#ended || !this.#id) return;
    this.#queued += data;
    // One write in flight at a time keeps keystrokes in order over any transport.
    this.#writing = this.#writing.then(() => this.#flush());
  }

  resize(cols: number, rows: number): void {
    if (this.#ended || !this.#id) return;
    this.backend.call('terminal.resize', { id: this.#id, cols, rows }).catch(() => {});
  }

  close(): void {
    const id = this.#id;
    this.#unsubscribe();
    if (id && !this.#ended) this.backend.call('terminal.close', { id }).catch(() => {});
    this.#ended = true;
  }

  async #flush(): Promise<void> {
    if (!this.#queued || !this.#id || this.#ended) return;
    const data = this.#queued.slice(0, 60_000);
    this.#queued = this.#queued.slice(data.length);
    await this.backend.call('terminal.write', { id: this.#id, data }).catch(() => {});
    if (this.#queued) await this.#flush();
  }

  #started(id: string): void {
    this.#id = id;
    const early = this.#early;
    this.#early = [];
    for (const event of early) this.#receive(event);
  }

  #receive(event: BridgeEvent): void {
    if (event.type !== 'terminal.data' && event.type !== 'terminal.exit') return;
    if (this.#id === null) {
      if (this.#early.length < 1000) this.#early.push(event);
      return;
    }
    if (event.payload.id !== this.#id) return;
    if (event.type === 'terminal.data') this.handlers.onData(event.payload.data);
    else {
      this.#ended = true;
      this.#unsubscribe();
      this.handlers.onExit(event.payload.code);
    }
  }
}
