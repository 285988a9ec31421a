// What the terminal service needs of one running shell, wherever it runs (a local pseudo-terminal or
// an SSH channel): text in, text out, a size, an end. Implementations decode output as UTF-8 across
// chunk boundaries, so a character split between two reads is never garbled.

export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface TerminalSession {
  write(data: string): void;
  resize(size: TerminalSize): void;
  /** Ends the shell; safe to call twice. onExit still fires once. */
  close(): void;
  /** Output as text; listeners are added right after the session opens, before any output. */
  onData(listener: (data: string) => void): void;
  /** Fires once per listener: the exit status, or null when killed or disconnected. */
  onExit(listener: (code: number | null) => void): void;
}
