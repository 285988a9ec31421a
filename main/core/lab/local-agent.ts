// A ferry-agent running as a local process: the appliances of the demo and of the local lab. It is
// started detached (it outlives the console, like an agent on a real appliance) with its state, its
// control socket, its log and its pid file in one folder, and stopped with SIGTERM (it flushes).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../../../shared/errors.js';
import { agentInfo } from '../../../shared/rpc/info.js';
import { connectLocalAgent } from '../agent-link/index.js';
import { defaultBundlePath } from '../deploy/local-artifacts.js';

export interface LocalAgentPaths {
  dir: string;
  stateDir: string;
  control: string;
  log: string;
  pidFile: string;
}

export function localAgentPaths(dir: string): LocalAgentPaths {
  return {
    dir,
    stateDir: join(dir, 'state'),
    control: join(dir, 'agent.sock'),
    log: join(dir, 'agent.log'),
    pidFile: join(dir, 'agent.pid'),
  };
}

export function readPid(paths: LocalAgentPaths): number | null {
  try {
    const pid = Number(readFileSync(paths.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the agent's control socket answers `info`. */
export async function agentAnswers(paths: LocalAgentPaths, timeoutMs = 2000): Promise<boolean> {
  if (!existsSync(paths.control)) return false;
  try {
    const link = await connectLocalAgent(paths.control, { connectTimeoutMs: timeoutMs });
    try {
      await link.call(agentInfo, {}, { timeoutMs });
      return true;
    } finally {
      link.close();
    }
  } catch {
    return false;
  }
}

export interface StartLocalAgentOptions {
  nbdHost: string;
  nbdPort: number;
  /** The agent bundle to run; default dist/ferry-agent.mjs of this install. */
  bundle?: string;
  /** How long to wait for the control socket to answer. */
  readyTimeoutMs?: number;
}

/** Starts the agent unless one already answers on its control socket; returns its pid. */
export async function startLocalAgent(
  paths: LocalAgentPaths,
  options: StartLocalAgentOptions,
): Promise<number> {
  const running = readPid(paths);
  if (running !== null && isProcessAlive(running) && (await agentAnswers(paths))) return running;
  mkdirSync(paths.stateDir, { recursive: true });
  const bundle = options.bundle ?? defaultBundlePath();
  if (!existsSync(bundle)) {
    throw new FerryError('ERR_NOT_FOUND', `the agent bundle ${bundle} is missing: run npm run build:agent`);
  }
  const logFd = openSync(paths.log, 'a');
  const listen = options.nbdHost.includes(':')
    ? `[${options.nbdHost}]:${options.nbdPort}`
    : `${options.nbdHost}:${options.nbdPort}`;
  const child = spawn(
    process.execPath,
    [bundle, 'serve', '--state-dir', paths.stateDir, '--listen', listen, '--control', paths.control],
    { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, FERRY_LOG: '' } },
  );
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new FerryError('ERR_INTERNAL', `could not start the agent in ${paths.dir}`);
  child.unref();
  writeFileSync(paths.pidFile, `${pid}\n`);
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    if (exited !== null) break;
    if (await agentAnswers(paths, 1000)) return pid;
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = tailOf(paths.log);
  if (exited === null) stopByPid(pid, 'SIGKILL');
  throw new FerryError(
    'ERR_UNREACHABLE',
    `the agent in ${paths.dir} did not start${exited !== null ? ` (exit code ${exited})` : ''}; its log ends with:\n${tail}`,
  );
}

function stopByPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM, wait for a clean exit, SIGKILL after the timeout. Idempotent. */
export async function stopLocalAgent(paths: LocalAgentPaths, timeoutMs = 15_000): Promise<void> {
  const pid = readPid(paths);
  if (pid === null || !isProcessAlive(pid)) {
    rmSync(paths.pidFile, { force: true });
    return;
  }
  stopByPid(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isProcessAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  if (isProcessAlive(pid)) stopByPid(pid, 'SIGKILL');
  rmSync(paths.pidFile, { force: true });
}

function tailOf(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
