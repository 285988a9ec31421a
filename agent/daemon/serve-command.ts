// `ferry-agent serve --state-dir DIR --listen HOST:PORT --control SOCKET`: runs the daemon in the
// foreground until SIGTERM/SIGINT (exit 0 after a clean stop; a second signal exits at once).

import { resolve } from 'node:path';
import { FerryError } from '../../shared/errors.js';
import {
  type AgentAccessDefaults,
  defaultPolicy,
  parseAllowOption,
  parseHostTlsMode,
} from '../access/access-policy.js';
import { parseCommandLine, requireOption } from '../cli/args.js';
import { createLogger } from '../log.js';
import { AGENT_VERSION } from '../version.js';
import { AgentDaemon } from './agent-daemon.js';

const USAGE =
  'ferry-agent serve --state-dir DIR --listen HOST:PORT --control SOCKET [--hosts-allow CIDR,...] [--host-tls off|allow|require]';

/** How long a clean stop may take before the agent gives up on it. */
const STOP_DEADLINE_MS = 90_000;

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `invalid --listen ${JSON.stringify(text)}: use HOST:PORT (e.g. 127.0.0.1:10809, [::1]:10809, port 0 picks a free one)`,
    );
  }
  return { host: m[1] ?? m[2], port };
}

export async function runServe(argv: string[]): Promise<number> {
  const args = parseCommandLine(
    argv,
    {
      'state-dir': { type: 'string' },
      listen: { type: 'string' },
      control: { type: 'string' },
      'hosts-allow': { type: 'string' },
      'host-tls': { type: 'string' },
    },
    USAGE,
  );
  if (args.positionals.length > 0) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `unexpected argument ${args.positionals[0]}\nusage: ${USAGE}`,
    );
  }
  const stateDir = resolve(requireOption(args, 'state-dir', USAGE));
  const { host, port } = parseListen(requireOption(args, 'listen', USAGE));
  const control = resolve(requireOption(args, 'control', USAGE));
  const access = accessDefaults(args.values['hosts-allow'], args.values['host-tls']);
  const log = createLogger('agent');
  const daemon = await AgentDaemon.start({
    stateDir,
    listenHost: host,
    listenPort: port,
    control,
    log,
    access,
  });
  const nbd = daemon.identity.nbd;
  const nbdAddress = nbd.host.includes(':') ? `[${nbd.host}]:${nbd.port}` : `${nbd.host}:${nbd.port}`;
  process.stdout.write(
    `ferry-agent ${AGENT_VERSION} serving NBD on ${nbdAddress}, control socket ${control}\n`,
  );
  // Said at every start so nobody is surprised by who can (not) reach new volumes.
  const defaults = defaultPolicy(access);
  process.stdout.write(
    `new volumes allow ${defaults.allow.join(', ')}${args.values['hosts-allow'] === undefined ? ' (loopback only: change with --hosts-allow CIDR,...)' : ''}; host TLS ${defaults.hostTls}\n`,
  );

  return new Promise<number>((done) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        log.warn(`${signal} again: exiting without a clean stop`);
        process.exit(1);
      }
      // A request stuck in a backend (a remote LV that went away) must not keep the agent alive forever.
      setTimeout(() => {
        log.error(`${signal}: not stopped after ${STOP_DEADLINE_MS} ms; exiting without a clean stop`);
        process.exit(1);
      }, STOP_DEADLINE_MS).unref();
      daemon.stop(signal).then(
        () => done(0),
        (err) => {
          log.error(`stop failed: ${(err as Error).message}`);
          done(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** serve --hosts-allow and --host-tls, checked before the daemon starts. */
function accessDefaults(hostsAllow: unknown, hostTls: unknown): AgentAccessDefaults {
  return {
    ...(typeof hostsAllow === 'string' ? { hostsAllow: parseAllowOption(hostsAllow) } : {}),
    ...(typeof hostTls === 'string' ? { hostTls: parseHostTlsMode(hostTls) } : {}),
  };
}
