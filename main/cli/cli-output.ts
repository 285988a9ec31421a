// How the console CLI speaks: JSON (one document, or JSON lines for streams) with --json, tables and
// sentences otherwise; errors as `error: <message> (<CODE>)` with the exit code of the error's code.
import { FerryError, toFerryError } from '../../shared/errors.js';
import { formatSizeApprox } from '../../shared/names.js';
import { renderTable } from '../../shared/text-table.js';

export interface Output {
  json: boolean;
  /** A result: printed as JSON with --json, else by `human`. */
  result<T>(value: T, human: (value: T) => string): void;
  /** A line for people only (progress, notes); JSON mode prints nothing. */
  note(text: string): void;
  /** A JSON line in --json streams (progress events). */
  jsonLine(value: unknown): void;
}

export function createOutput(json: boolean, write = (s: string) => process.stdout.write(s)): Output {
  return {
    json,
    result(value, human) {
      write(json ? `${JSON.stringify(value, null, 2)}\n` : ensureNewline(human(value)));
    },
    note(text) {
      if (!json) write(ensureNewline(text));
    },
    jsonLine(value) {
      if (json) write(`${JSON.stringify(value)}\n`);
    },
  };
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

export function printError(err: unknown, json: boolean): number {
  const error = toFerryError(err);
  if (json) {
    process.stderr.write(`${JSON.stringify({ error: error.toJSON() })}\n`);
  } else {
    process.stderr.write(`error: ${error.message} (${error.code})\n`);
  }
  return error instanceof FerryError ? error.exitCode : 1;
}

export const size = formatSizeApprox;
export const table = renderTable;

/** "3 min ago", "just now", "never": how old a piece of inventory is. */
export function age(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 10) return 'just now';
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}
