// The console CLI's command table and argument parsing (node:util parseArgs), with every mistake
// turned into ERR_INVALID_ARGUMENT naming the option and the command's usage.
import { parseArgs } from 'node:util';
import { FerryError } from '../../shared/errors.js';
import { parseSize } from '../../shared/names.js';

export type OptionTypes = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export interface Invocation {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  json: boolean;
  /** The command's usage line, for errors about a value the parser cannot check (a missing option). */
  usage: string;
}

export interface CommandSpec {
  /** Words that select the command, e.g. ['lab', 'up']. */
  path: string[];
  usage: string;
  summary: string;
  options?: OptionTypes;
  /** Positional names; a trailing '?' marks an optional one. */
  args?: string[];
}

export const GLOBAL_OPTIONS: OptionTypes = {
  json: { type: 'boolean' },
  store: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export function parseInvocation(spec: CommandSpec, argv: string[]): Invocation {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...spec.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `${(err as Error).message}\nusage: ${spec.usage}`);
  }
  const names = spec.args ?? [];
  const required = names.filter((n) => !n.endsWith('?')).length;
  if (parsed.positionals.length < required && !parsed.values.help) {
    const missing = names.slice(parsed.positionals.length).filter((n) => !n.endsWith('?'));
    throw new FerryError('ERR_INVALID_ARGUMENT', `missing ${missing.join(' ')}\nusage: ${spec.usage}`);
  }
  if (parsed.positionals.length > names.length) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `unexpected argument ${JSON.stringify(parsed.positionals[names.length])}\nusage: ${spec.usage}`,
    );
  }
  return {
    values: parsed.values as Invocation['values'],
    positionals: parsed.positionals,
    json: parsed.values.json === true,
    usage: spec.usage,
  };
}

export function str(inv: Invocation, name: string): string | undefined {
  const v = inv.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requireStr(inv: Invocation, name: string): string {
  const v = str(inv, name);
  if (v === undefined || v === '')
    throw new FerryError('ERR_INVALID_ARGUMENT', `missing --${name}\nusage: ${inv.usage}`);
  return v;
}

export function sizeOpt(inv: Invocation, name: string): number | undefined {
  const v = str(inv, name);
  return v === undefined ? undefined : parseSize(v);
}

export function requireSize(inv: Invocation, name: string): number {
  return parseSize(requireStr(inv, name));
}

export function intOpt(inv: Invocation, name: string): number | undefined {
  const v = str(inv, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n))
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `--${name} must be a whole number, not ${JSON.stringify(v)}`,
    );
  return n;
}

/** 'APPLIANCE/POOL' as admins type it. */
export function parsePoolRef(text: string, what = 'target'): { appliance: string; pool: string } {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(text);
  if (!m)
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `invalid ${what} ${JSON.stringify(text)}: use APPLIANCE/POOL`,
    );
  return { appliance: m[1], pool: m[2] };
}
