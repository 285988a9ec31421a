// `ferry appliance add|list|remove|check|scan`: the appliances the console reaches over SSH. Secrets
// are typed on the terminal without echo and never stored; a first host key is shown with the exact
// command that accepts it, and refused (exit 11) until it is accepted.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { ErrorCodes, FerryError, isErrorCode, toFerryError } from '../../../shared/errors.js';
import type {
  AddedAppliance,
  ApplianceAuthInput,
  ApplianceCheck,
  ConfirmHostKey,
} from '../../core/console/appliance-service.js';
import { shellCommand } from '../../core/ssh/shell-quote.js';
import type { RuntimeChoice } from '../../core/store/repo-appliances.js';
import { type Invocation, intOpt, requireStr, str } from '../cli-args.js';
import type { Command } from '../cli-context.js';
import { age, table } from '../cli-output.js';
import { askSecret, askYesNo, canPrompt } from '../tty-prompt.js';

const ADD_USAGE =
  'ferry appliance add NAME --host HOST [--port 22] [--user root] [--identity FILE] [--agent-dir DIR] ' +
  '[--nbd-listen ADDR:PORT] [--runtime auto|system|bundled] [--accept-host-key SHA256:...]';

/** Options of `add` in the order the accept command repeats them. */
const ADD_OPTIONS = ['host', 'port', 'user', 'identity', 'agent-dir', 'nbd-listen', 'runtime'] as const;

const STEP_WORDS: Record<string, string> = {
  connect: 'connecting to',
  probe: 'probing the appliance',
  'upload-bundle': 'uploading the agent to',
  runtime: 'choosing the runtime:',
  'check-running': 'looking for a running agent',
  'stop-old': 'stopping the outdated agent,',
  start: 'starting the agent',
  ready: 'agent answering,',
  inventory: 'reading its inventory',
};

function expandHome(path: string): string {
  if (path === '~') return homedir();
  return resolve(path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path);
}

/** --identity (passphrase asked on a TTY), else ssh-agent, else a password typed on a TTY. */
function chooseAuth(inv: Invocation, user: string, host: string): ApplianceAuthInput {
  const identity = str(inv, 'identity');
  if (identity !== undefined) {
    const identityFile = expandHome(identity);
    if (!existsSync(identityFile)) {
      throw new FerryError(
        'ERR_AUTH',
        `no key file at ${identityFile}: give --identity the path of your private key (not the .pub)`,
      );
    }
    return {
      kind: 'key',
      identityFile,
      passphrase: canPrompt() ? () => askSecret(`passphrase for ${identityFile}: `) : undefined,
    };
  }
  if (process.env.SSH_AUTH_SOCK) return { kind: 'agent' };
  if (canPrompt()) return { kind: 'password', password: () => askSecret(`password for ${user}@${host}: `) };
  throw new FerryError(
    'ERR_AUTH',
    `no way to log in to ${user}@${host}: give --identity FILE (a private key), or run ssh-agent with your key ` +
      'loaded (SSH_AUTH_SOCK), or run on a terminal to type a password',
  );
}

function acceptCommand(inv: Invocation, name: string, fingerprint: string): string {
  const argv = ['ferry', 'appliance', 'add', name];
  for (const option of ADD_OPTIONS) {
    const value = str(inv, option);
    if (value !== undefined) argv.push(`--${option}`, value);
  }
  const store = str(inv, 'store');
  if (store !== undefined) argv.push('--store', store);
  if (inv.json) argv.push('--json');
  argv.push('--accept-host-key', fingerprint);
  return shellCommand(argv);
}

function keyFileHint(type: unknown): string {
  const short = typeof type === 'string' ? type.replace(/^ssh-/, '').replace(/^ecdsa-sha2-.*/, 'ecdsa') : '*';
  return `ssh-keygen -lf /etc/ssh/ssh_host_${short}_key.pub`;
}

const confirmOnTty: ConfirmHostKey = (key, where) =>
  askYesNo(
    `The host key of ${where.host}:${where.port} is not known yet:\n  ${key.fingerprint} (${key.type})\n` +
      `Compare it with the appliance's own (${keyFileHint(key.type)}). Accept and pin it?`,
  );

function runtimeOpt(inv: Invocation): RuntimeChoice | undefined {
  const runtime = str(inv, 'runtime');
  if (runtime === undefined || runtime === 'auto' || runtime === 'system' || runtime === 'bundled')
    return runtime;
  throw new FerryError(
    'ERR_INVALID_ARGUMENT',
    `--runtime is auto, system or bundled, not ${JSON.stringify(runtime)}`,
  );
}

function describeAdded(a: AddedAppliance): string {
  const rt = a.deployed.runtime;
  return [
    `appliance ${a.name} added: ${a.user}@${a.host}:${a.port}, host key ${a.hostKey} (${a.hostKeyType ?? '?'}) pinned`,
    `agent ${a.deployed.version} running (pid ${a.deployed.pid}) on ${rt.kind} node ${rt.version ?? ''} ${rt.path}`,
    `NBD on ${a.deployed.nbd.host}:${a.deployed.nbd.port}, agent dir ${a.agentDir}`,
    `next: ferry pool add ${a.name} POOL --dir PATH`,
  ].join('\n');
}

function describeCheck(c: ApplianceCheck): string {
  if (!c.error) return c.message;
  const presented = c.error.details?.presented;
  const changed = c.error.code === 'ERR_HOST_KEY' && typeof c.error.details?.pinned === 'string';
  return [
    `${c.appliance}: ${c.message} (${c.error.code})`,
    ...(changed && typeof presented === 'string'
      ? [
          'Once you have verified the new key on the appliance, pin it with:',
          `  ${shellCommand(['ferry', 'appliance', 'check', c.appliance, '--accept-new-host-key', presented])}`,
        ]
      : []),
  ].join('\n');
}

export const applianceCommands: Command[] = [
  {
    path: ['appliance', 'add'],
    usage: ADD_USAGE,
    summary: 'add an appliance reached by SSH: pin its host key, deploy the agent',
    args: ['NAME'],
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      user: { type: 'string' },
      identity: { type: 'string' },
      'agent-dir': { type: 'string' },
      'nbd-listen': { type: 'string' },
      runtime: { type: 'string' },
      'accept-host-key': { type: 'string' },
    },
    async run(ctx, inv) {
      const name = inv.positionals[0];
      const host = requireStr(inv, 'host');
      const user = str(inv, 'user') ?? 'root';
      const acceptHostKey = str(inv, 'accept-host-key');
      const auth = chooseAuth(inv, user, host);
      const core = await ctx.core();
      try {
        const added = await core.appliances.add({
          name,
          host,
          port: intOpt(inv, 'port'),
          user,
          auth,
          acceptHostKey,
          confirmHostKey: acceptHostKey === undefined && canPrompt() ? confirmOnTty : undefined,
          agentDir: str(inv, 'agent-dir'),
          nbdListen: str(inv, 'nbd-listen'),
          runtime: runtimeOpt(inv),
          onStep: (step, detail) => ctx.out.note(`  ${STEP_WORDS[step] ?? step} ${detail ?? ''}`.trimEnd()),
        });
        ctx.out.result(added, describeAdded);
        return 0;
      } catch (err) {
        const error = toFerryError(err);
        const fingerprint = error.details?.fingerprint;
        if (error.code !== 'ERR_HOST_KEY' || !error.details?.firstContact || typeof fingerprint !== 'string')
          throw error;
        const command = acceptCommand(inv, name, fingerprint);
        throw new FerryError(
          'ERR_HOST_KEY',
          `the host key of ${error.details.host}:${error.details.port} is not trusted yet: ${fingerprint} (${error.details.type}).\n` +
            `Compare it with the appliance's own (${keyFileHint(error.details.type)}), then accept it with:\n  ${command}`,
          { ...error.details, acceptCommand: command },
        );
      }
    },
  },
  {
    path: ['appliance', 'list'],
    usage: 'ferry appliance list',
    summary: 'the appliances, how they are reached and how they were last seen',
    async run(ctx) {
      const appliances = (await ctx.core()).appliances.list();
      ctx.out.result(appliances, (list) =>
        table(
          ['NAME', 'SSH', 'AUTH', 'STATUS', 'AGENT', 'NBD', 'AGENT DIR', 'HOST KEY', 'LAST SEEN'],
          list.map((a) => [
            a.name,
            a.transport === 'local' ? '(local lab)' : `${a.user}@${a.host}:${a.port}`,
            a.transport === 'local' ? '-' : a.auth,
            a.status + (a.message ? ` (${a.message.slice(0, 60)})` : ''),
            a.agentVersion ?? '-',
            a.nbdListen,
            a.agentDir,
            a.hostKey ?? '-',
            age(a.lastSeen),
          ]),
        ),
      );
      return 0;
    },
  },
  {
    path: ['appliance', 'remove'],
    usage: 'ferry appliance remove NAME',
    summary: 'forget an appliance (refused while one of its volumes moves; its agent keeps running)',
    args: ['NAME'],
    async run(ctx, inv) {
      const removed = await (await ctx.core()).appliances.remove(inv.positionals[0]);
      ctx.out.result(removed, (r) =>
        [
          `appliance ${r.appliance} removed; its agent keeps running and serving its hosts`,
          ...(r.forgottenVolumes.length > 0
            ? [`volumes it served, forgotten: ${r.forgottenVolumes.join(', ')}`]
            : []),
          ...(r.volumesStoredOnIt.length > 0
            ? [`volumes served elsewhere with data on it: ${r.volumesStoredOnIt.join(', ')}`]
            : []),
        ].join('\n'),
      );
      return 0;
    },
  },
  {
    path: ['appliance', 'check'],
    usage: 'ferry appliance check NAME [--accept-new-host-key SHA256:...]',
    summary: 'is it reachable, does its agent answer, which version, latency',
    args: ['NAME'],
    options: { 'accept-new-host-key': { type: 'string' } },
    async run(ctx, inv) {
      const core = await ctx.core();
      const check = await core.appliances.check(inv.positionals[0], {
        acceptNewHostKey: str(inv, 'accept-new-host-key'),
      });
      ctx.out.result(check, describeCheck);
      if (!check.error) return 0;
      return isErrorCode(check.error.code) ? ErrorCodes[check.error.code].exit : 1;
    },
  },
  {
    path: ['appliance', 'scan'],
    usage: 'ferry appliance scan HOST [--port 22]',
    summary: "show a host's SSH key fingerprint (to compare before adding it)",
    args: ['HOST'],
    options: { port: { type: 'string' } },
    async run(ctx, inv) {
      const key = await (await ctx.core()).appliances.scanHostKey(
        inv.positionals[0],
        intOpt(inv, 'port') ?? 22,
      );
      ctx.out.result(
        key,
        (k) =>
          `${k.host}:${k.port} ${k.fingerprint} (${k.keyType})` +
          (k.knownAs ? `: already pinned by appliance ${k.knownAs}` : ''),
      );
      return 0;
    },
  },
];
