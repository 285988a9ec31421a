// `ferry-agent ctl --control SOCKET [--json] <command> ...`: finds the command in the domain tables,
// parses its options strictly, calls the agent, prints a table (or JSON with --json). Errors are
// printed as `error: <message> (<CODE>)` and the exit code comes from the FerryError's code.

import { toFerryError } from '../../shared/errors.js';
import { validateName } from '../../shared/names.js';
import { RpcClient } from '../rpc/rpc-client.js';
import { type OptionSpec, parseCommandLine, positionalArgs, usageError } from './args.js';
import { accessCommands } from './ctl-access.js';
import { type CtlCommand, usageOf } from './ctl-command.js';
import { infoCommands } from './ctl-info.js';
import { lvCommands } from './ctl-lvs.js';
import { moveCommands } from './ctl-move.js';
import { poolCommands } from './ctl-pools.js';
import { volumeCommands } from './ctl-volumes.js';

/** Every ctl command; a new domain (moves) appends its table here. */
export const ctlCommands: CtlCommand[] = [
  ...poolCommands,
  ...lvCommands,
  ...volumeCommands,
  ...moveCommands,
  ...accessCommands,
  ...infoCommands,
];

const GLOBAL_OPTIONS: OptionSpec = {
  control: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export interface CtlIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: CtlIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export async function runCtl(argv: string[], io: CtlIo = processIo): Promise<number> {
  try {
    return await runCtlOrThrow(argv, io);
  } catch (err) {
    const ferry = toFerryError(err);
    io.stderr(`error: ${ferry.message} (${ferry.code})\n`);
    // Scripts that asked for JSON get the error as JSON on stdout as well.
    if (argv.includes('--json')) io.stdout(`${JSON.stringify({ error: ferry.toJSON() }, null, 2)}\n`);
    const usage = ferry.details?.usage;
    if (typeof usage === 'string') io.stderr(`usage: ${usage}\n`);
    return ferry.exitCode;
  }
}

async function runCtlOrThrow(argv: string[], io: CtlIo): Promise<number> {
  const words = commandWords(argv);
  const command = findCommand(words);
  if (!command) {
    const help = words.length === 0 || words[0] === 'help' || argv.includes('--help') || argv.includes('-h');
    if (help) {
      io.stdout(ctlHelp());
      return 0;
    }
    throw usageError(
      `unknown command ${JSON.stringify(words.join(' '))}`,
      'ferry-agent ctl --control SOCKET [--json] <command>  (`ferry-agent ctl help` lists the commands)',
    );
  }
  const usage = usageOf(command);
  const args = parseCommandLine(argv, { ...GLOBAL_OPTIONS, ...command.options }, usage);
  if (args.values.help === true) {
    io.stdout(`usage: ${usage}\n  ${command.summary}\n`);
    return 0;
  }
  const params = positionalArgs(
    { values: args.values, positionals: args.positionals.slice(command.words.length) },
    command.positionals,
    usage,
  );
  checkNames(command, params);
  const control = (args.values.control as string | undefined) ?? process.env.FERRY_AGENT_CONTROL;
  if (!control) {
    throw usageError("missing --control SOCKET (the agent's control socket)", usage);
  }
  const client = await RpcClient.connect(control);
  try {
    const json = args.values.json === true;
    const output = await command.run({ args, params, client, json, usage, write: io.stdout });
    if (output) io.stdout(json ? `${JSON.stringify(output.json, null, 2)}\n` : output.human);
    return 0;
  } finally {
    client.close();
  }
}

/** NAME and POOL positionals are checked here so a typo fails before anything is sent. */
function checkNames(command: CtlCommand, params: string[]): void {
  command.positionals.forEach((placeholder, i) => {
    const value = params[i];
    if (value === undefined) return;
    const bare = placeholder.replace(/\?$/, '');
    if (bare === 'POOL') validateName('pool', value);
    if (bare === 'NAME') validateName(command.words[0] === 'lv' ? 'LV' : command.words[0], value);
  });
}

/** The non-option words of argv, skipping the values of options that take one. */
function commandWords(argv: string[]): string[] {
  const takesValue = new Set<string>();
  for (const spec of [GLOBAL_OPTIONS, ...ctlCommands.map((c) => c.options ?? {})]) {
    for (const [name, option] of Object.entries(spec)) if (option.type === 'string') takesValue.add(name);
  }
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (token.startsWith('-') && token !== '-') {
      if (token.startsWith('--') && !token.includes('=') && takesValue.has(token.slice(2))) i++;
      continue;
    }
    words.push(token);
  }
  return words;
}

function findCommand(words: string[]): CtlCommand | undefined {
  return ctlCommands
    .filter((c) => c.words.every((w, i) => words[i] === w))
    .sort((a, b) => b.words.length - a.words.length)[0];
}

export function ctlHelp(): string {
  const lines = ctlCommands.map(
    (c) => `  ${[...c.words, ...c.positionals, c.synopsis].filter(Boolean).join(' ')}`,
  );
  return `usage: ferry-agent ctl --control SOCKET [--json] <command>\ncommands:\n${lines.join('\n')}\n`;
}
