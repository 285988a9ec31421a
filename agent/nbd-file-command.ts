// `ferry-agent nbd-file FILE [--read-only] [--listen HOST:PORT] [--name NAME] [--tls-psk PSKFILE]`:
// serves one file or block device over NBD without the daemon, so libnbd tools can run the agent
// themselves (`nbdinfo -- [ ferry-agent nbd-file disk.img ]` uses socket activation) and the
// benchmark has something to serve. Without --listen: an inherited socket (LISTEN_FDS, fd 3) if
// systemd-style socket activation set one up for this process, else stdin/stdout.

// libuv's thread pool runs the large preads/pwrites, every fdatasync, and all I/O while the file
// backend's inline I/O is backed off (cold cache): its default 4 threads starve a client with 16
// requests in flight. libuv reads it when the pool starts (first fs call), so set it at load time.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { BlockBackend } from './backend/block-backend.js';
import { openFileBackend } from './backend/file-backend.js';
import { createLogger } from './log.js';
import type { ExportProvider } from './nbd/export-provider.js';
import { NbdServer } from './nbd/server.js';

const USAGE = `usage: ferry-agent nbd-file FILE [--read-only] [--listen HOST:PORT] [--name NAME] [--tls-psk PSKFILE]
  Serves FILE (a file or block device) as one NBD export, named NAME (default: the file's name;
  the default export '' is the same file).
  --listen HOST:PORT  accept TCP clients (port 0 picks one; the address is printed on stdout)
                      without it: the socket passed by socket activation (LISTEN_FDS), else stdin/stdout
  --tls-psk PSKFILE   require TLS with a pre-shared key; PSKFILE has lines "identity:hexkey"
`;

export interface NbdFileArgs {
  file: string;
  readOnly: boolean;
  listen?: { host: string; port: number };
  name: string;
  tlsPskFile?: string;
}

/** Parses the command line; throws an Error whose message says what was wrong. */
export function parseNbdFileArgs(argv: string[]): NbdFileArgs {
  let file: string | undefined;
  let readOnly = false;
  let listen: NbdFileArgs['listen'];
  let name: string | undefined;
  let tlsPskFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--read-only' || arg === '-r') readOnly = true;
    else if (arg === '--listen') listen = parseHostPort(value());
    else if (arg === '--name') name = value();
    else if (arg === '--tls-psk') tlsPskFile = value();
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else if (file === undefined) file = arg;
    else throw new Error(`unexpected argument ${arg}: only one FILE is served`);
  }
  if (file === undefined) throw new Error('FILE is missing');
  name ??= basename(file);
  if (Buffer.byteLength(name) > 4096 || name.includes('\0'))
    throw new Error('--name must be at most 4096 bytes, no NUL');
  return { file, readOnly, listen, name, tlsPskFile };
}

/** HOST:PORT or [IPv6]:PORT. */
export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535)
    throw new Error(`--listen wants HOST:PORT (e.g. 127.0.0.1:10809), not '${text}'`);
  return { host: match[1] ?? match[2], port };
}

/** PSK file lines "identity:hexkey" (the format of qemu's tls-creds-psk and libnbd's tls-psk-file). */
export function readPskFile(path: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const [index, raw] of readFileSync(path, 'utf8').split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.lastIndexOf(':');
    const hex = line.slice(colon + 1);
    if (colon <= 0 || !/^([0-9a-fA-F]{2})+$/.test(hex)) {
      throw new Error(`${path} line ${index + 1}: expected "identity:hexkey"`);
    }
    keys.set(line.slice(0, colon), Buffer.from(hex, 'hex'));
  }
  if (keys.size === 0) throw new Error(`${path} holds no key`);
  return keys;
}

/** One export, under its name and as the default export ''. */
export function singleExportProvider(
  name: string,
  backend: BlockBackend,
  readOnly: boolean,
  pskKeys?: Map<string, Buffer>,
): ExportProvider {
  return {
    list: () => [{ name }],
    open: (requested) =>
      requested === name || requested === ''
        ? { name, backend, readOnly, release: () => {} }
        : { kind: 'unknown', message: `no export named '${requested}' (this server has '${name}')` },
    pskKey: pskKeys ? (identity) => pskKeys.get(identity) : undefined,
    tlsRequired: () => pskKeys !== undefined,
  };
}

export async function runNbdFileCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let args: NbdFileArgs;
  let pskKeys: Map<string, Buffer> | undefined;
  try {
    args = parseNbdFileArgs(argv);
    if (args.tlsPskFile) pskKeys = readPskFile(args.tlsPskFile);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message} (ERR_INVALID_ARGUMENT)\n${USAGE}`);
    return 2;
  }
  const log = createLogger('nbd-file');
  let backend: BlockBackend;
  try {
    backend = await openFileBackend(args.file, { readOnly: args.readOnly });
  } catch (err) {
    process.stderr.write(`error: cannot open ${args.file}: ${(err as Error).message} (ERR_IO)\n`);
    return 1;
  }
  const provider = singleExportProvider(args.name, backend, args.readOnly, pskKeys);
  const mode = pickMode(args);
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const server = new NbdServer({
    provider,
    log,
    // stdio serves exactly one client: its end is the end of the command.
    onConnectionClosed: () => {
      if (mode === 'stdio') void server.close().then(() => finish(0));
    },
  });
  const stop = () => void server.close().then(() => finish(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (mode === 'stdio') {
    server.serveStream(process.stdin, process.stdout, { address: 'stdio', port: 0 });
  } else {
    try {
      const address =
        mode === 'socket-activation'
          ? await server.listenOnFd(3)
          : await server.listen(args.listen!.host, args.listen!.port);
      if (mode === 'listen') process.stdout.write(`NBD listening on ${address.host}:${address.port}\n`);
      log.info(`serving ${args.file} as '${args.name}' (${mode})`);
    } catch (err) {
      log.error(`cannot listen: ${(err as Error).message}`);
      await server.close();
      finish(1);
    }
  }
  const code = await finished;
  process.removeListener('SIGTERM', stop);
  process.removeListener('SIGINT', stop);
  await backend.close();
  return code;
}

function pickMode(args: NbdFileArgs): 'listen' | 'socket-activation' | 'stdio' {
  if (args.listen) return 'listen';
  const fds = Number(process.env.LISTEN_FDS);
  if (process.env.LISTEN_PID === String(process.pid) && fds >= 1) return 'socket-activation';
  return 'stdio';
}
