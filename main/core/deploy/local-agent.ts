// Local agents (the demo lab, tests): the same layout as on an appliance (AGENT_DIR/<sha256>/
// ferry-agent.mjs, state/, control.sock, agent.pid, agent.log) but started as a detached child
// process of this machine, with no SSH. Identity is recorded in agent.json (pid, bundle hash,
// runtime) and confirmed by the agent's own `info` pid, so it works where /proc does not (macOS).
import { spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { FerryError, toFerryError } from '../../../shared/errors.js';
import { agentInfo } from '../../../shared/rpc/info.js';
import { connectLocalAgent } from '../agent-link/connect.js';
import { type AgentPaths, agentPaths } from './agent-process.js';
import { defaultBundlePath, sha256File } from './local-artifacts.js';

export interface LocalAgentOptions {
  agentDir: string;
  nbdListen: string;
  bundlePath?: string;
  /**
   * Node executable; default process.execPath. Inside Electron that is Electron itself: pass
   * `env: { ELECTRON_RUN_AS_NODE: '1' }` then.
   */
  runtimePath?: string;
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

export interface LocalAgent {
  pid: number;
  sha256: string;
  /** false when the same bundle was already running there. */
  started: boolean;
  version: string;
  controlSocket: string;
  nbd: { host: string; port: number };
  paths: AgentPaths;
}

interface LaunchRecord {
  pid: number;
  sha256: string;
  runtime: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readRecord(paths: AgentPaths): LaunchRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(join(paths.agentDir, 'agent.json'), 'utf8')) as LaunchRecord;
    return Number.isInteger(record.pid) && alive(record.pid) ? record : undefined;
  } catch {
    return undefined;
  }
}

async function infoOf(paths: AgentPaths, pid: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last: FerryError | undefined;
  while (Date.now() < deadline) {
    if (!alive(pid)) {
      const log = existsSync(paths.logFile)
        ? readFileSync(paths.logFile, 'utf8').split('\n').slice(-20).join('\n')
        : '';
      throw new FerryError(
        'ERR_IO',
        `the local agent (pid ${pid}) exited while starting; last lines of ${paths.logFile}:\n${log}`,
      );
    }
    if (existsSync(paths.controlSocket)) {
      try {
        const link = await connectLocalAgent(paths.controlSocket, { connectTimeoutMs: 2000 });
        try {
          const info = await link.call(agentInfo, {}, { timeoutMs: 5000 });
          if (info.pid === pid) return info;
        } finally {
          link.close();
        }
      } catch (err) {
        last = toFerryError(err);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new FerryError(
    'ERR_TIMEOUT',
    `the local agent (pid ${pid}) did not answer on ${paths.controlSocket} within ${timeoutMs} ms${last ? `: ${last.message}` : ''}`,
  );
}

/** Starts (or finds running) a detached local agent; an agent of another bundle is stopped first. */
export async function startLocalAgent(options: LocalAgentOptions): Promise<LocalAgent> {
  const paths = agentPaths(options.agentDir);
  const bundlePath = options.bundlePath ?? defaultBundlePath();
  const runtime = options.runtimePath ?? process.execPath;
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const sha256 = await sha256File(bundlePath);
  const running = readRecord(paths);
  if (running && running.sha256 === sha256 && running.runtime === runtime) {
    const info = await infoOf(paths, running.pid, timeoutMs);
    return {
      pid: info.pid,
      sha256,
      started: false,
      version: info.version,
      controlSocket: paths.controlSocket,
      nbd: info.nbd,
      paths,
    };
  }
  if (running) await stopLocalAgent(options.agentDir);

  const installed = join(paths.agentDir, sha256, 'ferry-agent.mjs');
  if (!existsSync(installed)) {
    mkdirSync(join(paths.agentDir, sha256), { recursive: true, mode: 0o700 });
    copyFileSync(bundlePath, `${installed}.tmp`);
    renameSync(`${installed}.tmp`, installed);
  }
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  const log = openSync(paths.logFile, 'a');
  let pid: number | undefined;
  try {
    const child = spawn(
      runtime,
      [
        installed,
        'serve',
        '--state-dir',
        paths.stateDir,
        '--listen',
        options.nbdListen,
        '--control',
        paths.controlSocket,
      ],
      {
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, ...options.env },
        cwd: paths.agentDir,
      },
    );
    child.on('error', () => {}); // reported below as "exited while starting"
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(log);
  }
  if (!pid) throw new FerryError('ERR_IO', `cannot start ${runtime}: see ${paths.logFile}`);
  writeFileSync(paths.pidFile, `${pid}\n`);
  writeFileSync(
    join(paths.agentDir, 'agent.json'),
    JSON.stringify({ pid, sha256, runtime } satisfies LaunchRecord),
  );
  const info = await infoOf(paths, pid, timeoutMs);
  return {
    pid,
    sha256,
    started: true,
    version: info.version,
    controlSocket: paths.controlSocket,
    nbd: info.nbd,
    paths,
  };
}

/** SIGTERM and wait (the agent flushes its state); false when none was running. */
export async function stopLocalAgent(
  agentDir: string,
  options: { timeoutMs?: number; force?: boolean } = {},
): Promise<boolean> {
  const paths = agentPaths(agentDir);
  const running = readRecord(paths);
  if (!running) return false;
  const timeoutMs = options.timeoutMs ?? 30_000;
  process.kill(running.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive(running.pid)) {
    if (Date.now() > deadline) {
      if (!options.force) {
        throw new FerryError(
          'ERR_TIMEOUT',
          `the local agent (pid ${running.pid}) did not stop within ${timeoutMs} ms of SIGTERM`,
        );
      }
      process.kill(running.pid, 'SIGKILL');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
