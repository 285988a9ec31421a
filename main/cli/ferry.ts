// `ferry`: the console's command-line shell over the console core.
import { ErrorCodes, FerryError } from '../../shared/errors.js';
import { ConsoleCore } from '../core/console/console-core.js';
import { openStore } from '../core/store/index.js';
import { type CommandSpec, parseInvocation } from './cli-args.js';
import type { CliContext, Command } from './cli-context.js';
import { createOutput, printError } from './cli-output.js';
import { applianceCommands } from './commands/appliance-commands.js';
import { demoCommand } from './commands/demo-command.js';
import { inventoryCommands } from './commands/inventory-commands.js';
import { labCommands } from './commands/lab-commands.js';
import { moveCommands } from './commands/move-commands.js';
import { planCommands } from './commands/plan-commands.js';
import { webCommand } from './commands/web-command.js';
import { ttySecretPrompts } from './tty-prompt.js';

declare const FERRY_CONSOLE_VERSION: string | undefined;
const VERSION = typeof FERRY_CONSOLE_VERSION === 'string' ? FERRY_CONSOLE_VERSION : 'dev';

const COMMANDS: Command[] = [
  demoCommand,
  ...labCommands,
  ...applianceCommands,
  ...inventoryCommands,
  ...moveCommands,
  ...planCommands,
  webCommand,
];

/** "2 ERR_INVALID_ARGUMENT, 3 ERR_NOT_FOUND, ...": one line per code, from the one table of codes. */
function exitCodeList(): string {
  const byExit = new Map<number, string[]>();
  for (const [code, { exit }] of Object.entries(ErrorCodes))
    byExit.set(exit, [...(byExit.get(exit) ?? []), code]);
  return [...byExit.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([exit, codes]) => `${exit} ${codes.join('/')}`)
    .join(', ');
}

function help(commands: CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  return [
    `ferry ${VERSION}: move storage volumes between appliances without downtime`,
    '',
    'usage: ferry <command> [options]   (every command takes --json and --store PATH)',
    '',
    ...commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'ferry <command> --help shows its usage.',
    `Exit codes: 0 ok, 1 data not verified (demo), ${exitCodeList()}.`,
  ].join('\n');
}

function findCommand(argv: string[]): { command: Command; rest: string[] } | null {
  let best: { command: Command; rest: string[] } | null = null;
  for (const command of COMMANDS) {
    const n = command.path.length;
    if (argv.length >= n && command.path.every((w, i) => argv[i] === w)) {
      if (!best || n > best.command.path.length) best = { command, rest: argv.slice(n) };
    }
  }
  return best;
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(`${help(COMMANDS)}\n`);
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    process.stdout.write(`ferry ${VERSION}\n`);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    return printError(
      new FerryError(
        'ERR_INVALID_ARGUMENT',
        `unknown command ${JSON.stringify(argv.join(' '))}: see ferry help`,
      ),
      json,
    );
  }
  let core: ConsoleCore | undefined;
  try {
    const inv = parseInvocation(found.command, found.rest);
    if (inv.values.help) {
      process.stdout.write(`usage: ${found.command.usage}\n${found.command.summary}\n`);
      return 0;
    }
    const ctx: CliContext = {
      out: createOutput(inv.json),
      async core() {
        if (!core) {
          const storeOpt = inv.values.store;
          core = new ConsoleCore({
            store: openStore({ path: typeof storeOpt === 'string' ? storeOpt : undefined }),
            // A key passphrase or SSH password is typed on the terminal when a command needs it.
            secrets: ttySecretPrompts(),
          });
        }
        return core;
      },
    };
    return (await found.command.run(ctx, inv)) ?? 0;
  } catch (err) {
    return printError(err, json);
  } finally {
    if (core) {
      core.close();
      core.store.close();
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = printError(err, false);
  },
);
