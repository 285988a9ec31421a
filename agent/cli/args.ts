// Command-line parsing on top of node:util parseArgs, with errors turned into FerryErrors
// (ERR_INVALID_ARGUMENT, exit code 2) that name the bad option and the usage.

import { parseArgs } from 'node:util';
import { FerryError } from '../../shared/errors.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** A command-line mistake: the message says what was wrong, ctl prints the usage after it. */
export function usageError(message: string, usage: string): FerryError {
  return new FerryError('ERR_INVALID_ARGUMENT', message, { usage });
}

export function parseCommandLine(argv: string[], options: OptionSpec, usage: string): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    throw usageError((err as Error).message, usage);
  }
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function requireOption(args: ParsedArgs, name: string, usage: string): string {
  const value = stringOption(args, name);
  if (value === undefined || value === '') {
    throw usageError(`missing --${name}`, usage);
  }
  return value;
}

/** Checks the positional count: `names` ending in '?' are optional. */
export function positionalArgs(args: ParsedArgs, names: string[], usage: string): string[] {
  const required = names.filter((n) => !n.endsWith('?')).length;
  if (args.positionals.length < required) {
    const missing = names.slice(args.positionals.length).filter((n) => !n.endsWith('?'));
    throw usageError(`missing ${missing.join(' ')}`, usage);
  }
  if (args.positionals.length > names.length) {
    const extra = args.positionals.slice(names.length);
    throw usageError(`unexpected argument ${JSON.stringify(extra[0])}`, usage);
  }
  return args.positionals;
}
