// Real NBD servers for the client's tests: nbdkit and qemu-nbd on loopback, on a free port, in a
// temporary folder, always torn down. Also small wrappers of qemu-io to check bytes independently.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function tempDir(
  prefix = 'ferry-nbd-client-',
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface ServerProcess {
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

async function waitForPort(
  port: number,
  host: string,
  proc: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not listen on ${port}: ${stderr()}`);
}

async function startServer(
  cmd: string,
  args: string[],
  port: number,
  host = '127.0.0.1',
): Promise<ServerProcess> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  proc.on('error', () => {});
  await waitForPort(port, host, proc, () => err);
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };
  return { port, proc, stop };
}

/** nbdkit in the foreground on 127.0.0.1:port; `plugin` is e.g. ['memory', '64M'] or ['file', f]. */
export async function startNbdkit(
  plugin: string[],
  opts: { port?: number; host?: string; pskFile?: string; readOnly?: boolean; extra?: string[] } = {},
): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const host = opts.host ?? '127.0.0.1';
  const args = ['-f', '-p', String(port), '-i', host];
  if (opts.pskFile) args.push('--tls=require', `--tls-psk=${opts.pskFile}`);
  if (opts.readOnly) args.push('-r');
  args.push(...(opts.extra ?? []), ...plugin);
  return startServer('nbdkit', args, port, host);
}

export async function startQemuNbd(file: string, opts: { port?: number } = {}): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const args = ['-f', 'raw', '-b', '127.0.0.1', '-p', String(port), '-x', 'disk', '-t', file];
  return startServer('qemu-nbd', args, port);
}

export async function writePskFile(dir: string, identity: string, key: Buffer): Promise<string> {
  const file = path.join(dir, 'psk.txt');
  await writeFile(file, `${identity}:${key.toString('hex')}\n`, { mode: 0o600 });
  return file;
}

/** Runs qemu-io against an NBD URL; resolves with stdout, rejects when a check fails. */
export async function qemuIo(url: string, commands: string[]): Promise<string> {
  const args = ['-f', 'raw'];
  for (const c of commands) args.push('-c', c);
  args.push(url);
  const { stdout } = await run('qemu-io', args);
  if (/Pattern verification failed|failed|error/i.test(stdout)) throw new Error(`qemu-io: ${stdout}`);
  return stdout;
}

/** A buffer whose bytes depend on its position, so misplaced data shows. */
export function patternBuffer(length: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i += 4) buf.writeUInt32LE((Math.imul(i + seed, 2654435761) ^ seed) >>> 0, i);
  return buf;
}
