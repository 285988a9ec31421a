// Deploys the agent to an appliance over one SSH connection:
//   1. probe the machine (Linux, architecture, its own node)
//   2. upload the bundle to AGENT_DIR/<sha256>/ferry-agent.mjs unless that exact file is there
//   3. choose the runtime (runtime-choice.ts), uploading a bundled one once
//   4. if the same bundle already runs on the same runtime: nothing to start; if another version
//      runs: refuse while it reports a move in progress, else stop it (SIGTERM) and start the new one
//   5. wait until the new agent answers `info` on its control socket through the SSH forward
//   6. remove the bundles of earlier versions (prune-bundles.ts)
import { FerryError, toFerryError } from '../../../shared/errors.js';
import { agentInfo } from '../../../shared/rpc/info.js';
import { connectRemoteAgent } from '../agent-link/connect.js';
import { type AgentLink, isMethodNotFound } from '../agent-link/rpc-link.js';
import type { SshConnection } from '../ssh/connection.js';
import {
  type AgentPaths,
  agentPaths,
  type RunningAgent,
  startAgent,
  stopAgent,
  surveyAppliance,
} from './agent-process.js';
import { BUNDLED_RUNTIME_VERSION, defaultBundlePath, sha256File } from './local-artifacts.js';
import { pruneOldBundles } from './prune-bundles.js';
import {
  bundledRuntimePath,
  type ChosenRuntime,
  chooseRuntime,
  type RuntimeChoice,
} from './runtime-choice.js';
import { uploadVerified } from './upload.js';

export type DeployStep =
  | 'probe'
  | 'upload-bundle'
  | 'runtime'
  | 'check-running'
  | 'stop-old'
  | 'start'
  | 'ready'
  | 'prune';

export interface DeployOptions {
  /** Absolute folder on the appliance that holds bundles, runtimes, state, pid file, log, socket. */
  agentDir: string;
  /** The agent's NBD listen address on the appliance, HOST:PORT. */
  nbdListen: string;
  runtime?: RuntimeChoice;
  /** Local agent bundle; default <Ferry>/dist/ferry-agent.mjs. */
  bundlePath?: string;
  runtimeSearchDirs?: string[];
  stateDir?: string;
  controlSocket?: string;
  /** How long the new agent may take to answer (default 30 s). */
  startTimeoutMs?: number;
  /** How long an outdated agent may take to stop after SIGTERM (default 30 s). */
  stopTimeoutMs?: number;
  onStep?: (step: DeployStep, detail?: string) => void;
}

export interface DeployResult {
  sha256: string;
  remoteBundlePath: string;
  bundleUploaded: boolean;
  machine: string;
  runtime: ChosenRuntime;
  /** false when the same bundle was already running on the same runtime. */
  started: boolean;
  /** sha256 of the agent that was stopped for this one (an upgrade). */
  replaced?: string | null;
  /** Bundles of earlier versions removed from the appliance after this one started. */
  pruned?: string[];
  pid: number;
  version: string;
  controlSocket: string;
  nbd: { host: string; port: number };
}

function validate(options: DeployOptions): void {
  if (!options.agentDir.startsWith('/') || /[\s'"\\]/.test(options.agentDir)) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `agent dir must be an absolute path without spaces or quotes, got ${JSON.stringify(options.agentDir)}`,
    );
  }
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):\d{1,5}$/.test(options.nbdListen)) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `NBD listen address must be HOST:PORT, got ${JSON.stringify(options.nbdListen)}`,
    );
  }
}

export async function deployAgent(ssh: SshConnection, options: DeployOptions): Promise<DeployResult> {
  validate(options);
  const step = options.onStep ?? (() => {});
  const paths = agentPaths(options.agentDir, {
    stateDir: options.stateDir,
    controlSocket: options.controlSocket,
  });
  const bundlePath = options.bundlePath ?? defaultBundlePath();
  const sha256 = await sha256File(bundlePath);
  const remoteBundlePath = `${paths.agentDir}/${sha256}/ferry-agent.mjs`;
  const runtimeCandidates = ['x64', 'arm64'].map((arch) =>
    bundledRuntimePath(paths.agentDir, BUNDLED_RUNTIME_VERSION, arch),
  );

  step('probe');
  const survey = await surveyAppliance(ssh, paths, {
    mkdirs: [`${paths.agentDir}/${sha256}`],
    files: [remoteBundlePath, ...runtimeCandidates],
  });
  const { probe } = survey;
  if (probe.os !== 'Linux') {
    throw new FerryError(
      'ERR_UNSUPPORTED',
      `${ssh.target.host} runs ${probe.os}; the Ferry agent runs on Linux only`,
    );
  }
  if (!probe.hasSha256sum) {
    throw new FerryError(
      'ERR_UNSUPPORTED',
      `${ssh.target.host} has no sha256sum (coreutils): install it to deploy`,
    );
  }

  const bundleThere = survey.present.get(remoteBundlePath) === true;
  if (!bundleThere) {
    step('upload-bundle', remoteBundlePath);
    await uploadVerified(ssh, bundlePath, remoteBundlePath, { mode: 0o644, sha256 });
  }

  step('runtime', options.runtime ?? 'auto');
  const runtime = await chooseRuntime(ssh, probe, options.runtime ?? 'auto', paths.agentDir, {
    runtimeSearchDirs: options.runtimeSearchDirs,
    present: survey.present,
    realPaths: survey.realPaths,
  });

  step('check-running');
  const { running } = survey;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let replaced: string | null | undefined;
  const result = (started: boolean, info: Awaited<ReturnType<typeof answeringInfo>>): DeployResult => ({
    sha256,
    remoteBundlePath,
    bundleUploaded: !bundleThere,
    machine: probe.machine,
    runtime,
    started,
    replaced,
    pid: info.pid,
    version: info.version,
    controlSocket: paths.controlSocket,
    nbd: info.nbd,
  });
  if (running) {
    if (running.sha256 === sha256 && running.executable === runtime.realPath) {
      return result(false, await answeringInfo(ssh, paths, running.pid, startTimeoutMs));
    }
    step('stop-old', `pid ${running.pid}`);
    await refuseWhileMoving(ssh, paths, running);
    await stopAgent(ssh, paths, { timeoutMs: options.stopTimeoutMs, running });
    replaced = running.sha256;
  }

  step('start');
  const pid = await startAgent(ssh, {
    paths,
    runtimePath: runtime.path,
    bundlePath: remoteBundlePath,
    nbdListen: options.nbdListen,
    useSetsid: probe.hasSetsid,
    timeoutMs: startTimeoutMs,
  });
  const info = await answeringInfo(ssh, paths, pid, startTimeoutMs);
  step('ready', `pid ${info.pid}`);
  const pruned = await pruneOldBundles(ssh, paths.agentDir, sha256);
  if (pruned.length > 0) step('prune', `${pruned.length} old bundle(s)`);
  return { ...result(true, info), pruned };
}

/** The running agent's `info`, through the SSH forward; retried briefly (a socket may be stale). */
async function answeringInfo(ssh: SshConnection, paths: AgentPaths, pid: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let lastError: FerryError | undefined;
  while (Date.now() < deadline) {
    let link: AgentLink | undefined;
    try {
      link = await connectRemoteAgent(ssh, paths.controlSocket);
      const info = await link.call(agentInfo, {}, { timeoutMs: 5000 });
      if (info.pid === pid) return info;
      lastError = new FerryError(
        'ERR_ALREADY_EXISTS',
        `${paths.controlSocket} on ${ssh.target.host} is served by pid ${info.pid}, not the agent we started (pid ${pid})`,
      );
    } catch (err) {
      lastError = toFerryError(err);
    } finally {
      link?.close();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new FerryError(
    'ERR_UNREACHABLE',
    `the agent (pid ${pid}) on ${ssh.target.host} does not answer on ${paths.controlSocket}: ${lastError?.message ?? 'no reply'}`,
  );
}

const FINISHED = new Set(['done', 'completed', 'committed', 'failed', 'aborted', 'cancelled', 'canceled']);

/** An upgrade stops the agent; refuse it while the agent reports a move that is not finished. */
async function refuseWhileMoving(
  ssh: SshConnection,
  paths: AgentPaths,
  running: RunningAgent,
): Promise<void> {
  let link: AgentLink | undefined;
  try {
    link = await connectRemoteAgent(ssh, paths.controlSocket);
  } catch {
    return; // not answering: nothing to protect through RPC; the stop below is still a clean SIGTERM
  }
  try {
    const result = (await link.callRaw('move.list', {}, { timeoutMs: 10_000 })) as
      | { moves?: unknown }
      | unknown[];
    const moves = (Array.isArray(result) ? result : Array.isArray(result?.moves) ? result.moves : []) as {
      id?: string;
      phase?: string;
      state?: string;
    }[];
    const active = moves.filter((m) => !FINISHED.has(String(m.phase ?? m.state ?? '')));
    if (active.length > 0) {
      throw new FerryError(
        'ERR_VOLUME_BUSY',
        `cannot upgrade the agent on ${ssh.target.host} (pid ${running.pid}): ${active.length} move(s) in progress ` +
          `(${active.map((m) => `${m.id ?? '?'}: ${m.phase ?? m.state}`).join(', ')}); wait for them to finish or abort them, then deploy again`,
        { moves: active.map((m) => m.id) },
      );
    }
  } catch (err) {
    // TODO: drop this fallback once every deployed agent has move.list (agents before the move RPC).
    if (isMethodNotFound(err)) return;
    throw err;
  } finally {
    link.close();
  }
}
