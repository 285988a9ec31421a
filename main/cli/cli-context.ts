// What every console command gets: its output, and the console core opened on demand on the store
// chosen by --store, FERRY_STORE or the default data folder.
import type { ConsoleCore } from '../core/console/console-core.js';
import type { CommandSpec, Invocation } from './cli-args.js';
import type { Output } from './cli-output.js';

export interface CliContext {
  out: Output;
  core(): Promise<ConsoleCore>;
}

export interface Command extends CommandSpec {
  run(ctx: CliContext, inv: Invocation): Promise<number | undefined>;
}
