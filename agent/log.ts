// The agent's log: one line per event on stderr ("2026-11-25T13:28:17.123Z nbd[12]: message"),
// so a daemon's output can be captured by whoever started it. Quiet in tests when FERRY_LOG=quiet.

export type LogFn = (message: string) => void;

export interface Logger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(component: string): Logger;
}

export function createLogger(component: string, sink: (line: string) => void = defaultSink): Logger {
  const emit = (level: string) => (message: string) => {
    sink(
      `${new Date().toISOString()} ${level === 'info' ? '' : `${level.toUpperCase()} `}${component}: ${message}`,
    );
  };
  return {
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (sub: string) => createLogger(`${component}.${sub}`, sink),
  };
}

function defaultSink(line: string): void {
  if (process.env.FERRY_LOG === 'quiet') return;
  process.stderr.write(`${line}\n`);
}
