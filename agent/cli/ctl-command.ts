// The shape of one `ferry-agent ctl` command; each domain declares its commands in its own module
// (ctl-pools.ts, ctl-volumes.ts, the move engine's ctl-moves.ts) and ctl.ts lists the modules.

import type { RpcClient } from '../rpc/rpc-client.js';
import type { OptionSpec, ParsedArgs } from './args.js';

export interface CtlContext {
  args: ParsedArgs;
  /** Positionals after the command words, checked against `positionals`. */
  params: string[];
  client: RpcClient;
  json: boolean;
  usage: string;
  /** Writes to stdout (streaming commands like `events --follow`). */
  write(text: string): void;
}

export interface CtlOutput {
  /** Printed with --json. */
  json: unknown;
  /** Printed for people. */
  human: string;
}

export interface CtlCommand {
  /** The words that name it: ['pool', 'add']. */
  words: string[];
  /** Positional names after the words; optional ones end in '?'. */
  positionals: string[];
  /** Options and their syntax, for the usage line: '--size SIZE'. */
  synopsis: string;
  summary: string;
  options?: OptionSpec;
  /** Returns what to print, or undefined when the command printed already (streams). */
  run(ctx: CtlContext): Promise<CtlOutput | undefined>;
}

export function usageOf(cmd: CtlCommand): string {
  return ['ferry-agent ctl --control SOCKET [--json]', ...cmd.words, ...cmd.positionals, cmd.synopsis]
    .filter((s) => s !== '')
    .join(' ');
}
