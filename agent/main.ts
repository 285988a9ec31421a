// ferry-agent entry point: dispatches the subcommands.
//   serve     the daemon (NBD server + control socket + durable state)
//   ctl       client of a running daemon's control socket
//   nbd-file  serve one file over NBD (stdio / socket activation, for libnbd tools)
import { FerryError, toFerryError } from '../shared/errors.js';
import { runCtl } from './cli/ctl.js';
import { runServe } from './daemon/serve-command.js';
import { runNbdFileCommand } from './nbd-file-command.js';
import { runHostWriter } from './tools/host-writer.js';
import { AGENT_VERSION } from './version.js';

const HELP = `ferry-agent ${AGENT_VERSION}: Ferry's virtualization agent

usage:
  ferry-agent serve --state-dir DIR --listen HOST:PORT --control SOCKET
  ferry-agent ctl --control SOCKET [--json] <command>   (ferry-agent ctl help: the commands)
  ferry-agent nbd-file ...                              (one file over NBD, for libnbd tools)
  ferry-agent host-writer nbd://HOST:PORT/EXPORT [--fill] [--seconds N]   (write, then verify every block)
  ferry-agent --version
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return runServe(rest);
    case 'ctl':
      return runCtl(rest);
    case 'nbd-file':
      return runNbdFileCommand(rest);
    case 'host-writer':
      return runHostWriter(rest);
    case '--version':
    case 'version':
      process.stdout.write(`ferry-agent ${AGENT_VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(
        `error: unknown command ${JSON.stringify(command)} (ERR_INVALID_ARGUMENT)\n${HELP}`,
      );
      return 2;
  }
}

startMain();

function startMain(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      // A failed system call at start (EACCES on the state dir) is the admin's to fix, not a bug.
      const errno = (err as NodeJS.ErrnoException | undefined)?.code;
      const ferry =
        !(err instanceof FerryError) && typeof errno === 'string' && /^E[A-Z0-9]+$/.test(errno)
          ? new FerryError('ERR_IO', (err as Error).message, { errno })
          : toFerryError(err);
      process.stderr.write(`error: ${ferry.message} (${ferry.code})\n`);
      const usage = ferry.details?.usage;
      if (typeof usage === 'string') process.stderr.write(`usage: ${usage}\n`);
      process.exitCode = ferry.exitCode;
    },
  );
}
