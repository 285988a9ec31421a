// The agent daemon's life on an appliance, driven over SSH exec: probe the machine, find the running
// agent (pid file written by our launcher, checked against /proc so a recycled pid is not mistaken
// for it), start it detached (setsid + nohup: it outlives the SSH session and the console), stop it
// gracefully (SIGTERM; the agent flushes its state before it exits).
import { FerryError } from '../../../shared/errors.js';
import type { SshConnection } from '../ssh/connection.js';
import { shellCommand, shellQuote } from '../ssh/shell-quote.js';

export interface ApplianceProbe {
  os: string;
  /** `uname -m`, e.g. x86_64, aarch64. */
  machine: string;
  /** Absolute path of `node` on the PATH of a non-interactive SSH session, if any. */
  nodePath?: string;
  /** `node --version` output without the v, e.g. "20.20.2". */
  nodeVersion?: string;
  hasSetsid: boolean;
  hasSha256sum: boolean;
}

export interface RunningAgent {
  pid: number;
  /** The agent bundle it runs (AGENT_DIR/<sha>/ferry-agent.mjs) and that bundle's sha256. */
  bundlePath: string;
  sha256: string | null;
  /** The executable of the process (/proc/PID/exe, symlinks resolved). */
  executable: string;
  argv: string[];
}

export interface AgentPaths {
  agentDir: string;
  pidFile: string;
  logFile: string;
  stateDir: string;
  controlSocket: string;
}

export function agentPaths(
  agentDir: string,
  overrides: { stateDir?: string; controlSocket?: string } = {},
): AgentPaths {
  return {
    agentDir,
    pidFile: `${agentDir}/agent.pid`,
    logFile: `${agentDir}/agent.log`,
    stateDir: overrides.stateDir ?? `${agentDir}/state`,
    controlSocket: overrides.controlSocket ?? `${agentDir}/control.sock`,
  };
}

function keyValues(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) map.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return map;
}

const PROBE_SCRIPT = [
  'echo "os=$(uname -s)"',
  'echo "machine=$(uname -m)"',
  'p=$(command -v node 2>/dev/null || true)',
  'if [ -n "$p" ]; then echo "node=$(readlink -f "$p" 2>/dev/null || echo "$p")"; echo "nodeVersion=$("$p" --version 2>/dev/null || true)"; fi',
  'command -v setsid >/dev/null 2>&1 && echo setsid=yes',
  'command -v sha256sum >/dev/null 2>&1 && echo sha256sum=yes',
].join('\n');

function parseProbe(kv: Map<string, string>): ApplianceProbe {
  const version = kv.get('nodeVersion')?.trim().replace(/^v/, '');
  return {
    os: kv.get('os') ?? 'unknown',
    machine: kv.get('machine') ?? 'unknown',
    nodePath: kv.get('node') || undefined,
    nodeVersion: version && /^\d+\.\d+\.\d+/.test(version) ? version : undefined,
    hasSetsid: kv.get('setsid') === 'yes',
    hasSha256sum: kv.get('sha256sum') === 'yes',
  };
}

export async function probeAppliance(ssh: SshConnection): Promise<ApplianceProbe> {
  return parseProbe(keyValues(await ssh.run(`${PROBE_SCRIPT}\ntrue`, { timeoutMs: 20_000 })));
}

function runningScript(paths: AgentPaths): string {
  return [
    `f=${shellQuote(paths.pidFile)}`,
    'pid=$(cat "$f" 2>/dev/null || true)',
    'case "$pid" in \'\'|*[!0-9]*) pid=;; esac',
    'if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then',
    '  echo "pid=$pid"',
    '  echo "exe=$(readlink -f /proc/$pid/exe 2>/dev/null)"',
    "  printf 'argv='; tr '\\0' '\\t' < /proc/$pid/cmdline; echo",
    'fi',
  ].join('\n');
}

function parseRunning(kv: Map<string, string>): RunningAgent | undefined {
  const pid = Number(kv.get('pid'));
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const argv = (kv.get('argv') ?? '').split('\t').filter((a) => a !== '');
  const bundlePath = argv.find((a) => a.endsWith('/ferry-agent.mjs'));
  // A recycled pid now belongs to something else: the agent is not running.
  if (!bundlePath || !argv.includes('serve')) return undefined;
  const parent = bundlePath.split('/').at(-2) ?? '';
  return {
    pid,
    bundlePath,
    sha256: /^[0-9a-f]{64}$/.test(parent) ? parent : null,
    executable: kv.get('exe') ?? '',
    argv,
  };
}

/** The agent our launcher started in this agent dir, if it still runs. */
export async function findRunningAgent(
  ssh: SshConnection,
  paths: AgentPaths,
): Promise<RunningAgent | undefined> {
  return parseRunning(keyValues(await ssh.run(`${runningScript(paths)}\ntrue`, { timeoutMs: 20_000 })));
}

export interface Survey {
  probe: ApplianceProbe;
  running: RunningAgent | undefined;
  /** For each path asked about: does a file exist there. */
  present: Map<string, boolean>;
  /** readlink -f of each path asked about (itself when it does not resolve). */
  realPaths: Map<string, string>;
}

/**
 * Everything a deploy needs to know, in one round trip (each exec costs a session on the appliance):
 * the probe, the running agent, whether files exist, and after creating the folders asked for.
 */
export async function surveyAppliance(
  ssh: SshConnection,
  paths: AgentPaths,
  ask: { files: string[]; mkdirs: string[] },
): Promise<Survey> {
  const lines = [
    ...ask.mkdirs.map((d) => `mkdir -p ${shellQuote(d)}`),
    `chmod 700 ${shellQuote(paths.agentDir)}`,
    PROBE_SCRIPT,
    runningScript(paths),
    ...ask.files.flatMap((f, i) => [
      `if [ -e ${shellQuote(f)} ]; then echo "file${i}=yes"; else echo "file${i}=no"; fi`,
      `echo "real${i}=$(readlink -f ${shellQuote(f)} 2>/dev/null || echo ${shellQuote(f)})"`,
    ]),
    'true',
  ];
  const kv = keyValues(await ssh.run(lines.join('\n'), { timeoutMs: 30_000 }));
  const present = new Map<string, boolean>();
  const realPaths = new Map<string, string>();
  ask.files.forEach((f, i) => {
    present.set(f, kv.get(`file${i}`) === 'yes');
    realPaths.set(f, kv.get(`real${i}`) || f);
  });
  return { probe: parseProbe(kv), running: parseRunning(kv), present, realPaths };
}

export interface StartSpec {
  paths: AgentPaths;
  runtimePath: string;
  bundlePath: string;
  nbdListen: string;
  useSetsid: boolean;
  /** How long the agent may take to open its control socket (default 30 s). */
  timeoutMs?: number;
}

/**
 * Launches the daemon detached and waits, on the appliance (one round trip), until its control
 * socket exists. Resolves with the agent's pid; fails with the end of its log if it exits first.
 */
export async function startAgent(ssh: SshConnection, spec: StartSpec): Promise<number> {
  const { paths } = spec;
  const timeoutMs = spec.timeoutMs ?? 30_000;
  const serve = shellCommand([
    spec.runtimePath,
    spec.bundlePath,
    'serve',
    '--state-dir',
    paths.stateDir,
    '--listen',
    spec.nbdListen,
    '--control',
    paths.controlSocket,
  ]);
  // The inner shell writes its own pid then execs the agent, so the pid file names the agent itself.
  const launcher = `sh -c 'echo $$ > "$0"; exec "$@"' ${shellQuote(paths.pidFile)} ${serve}`;
  const tenths = Math.max(1, Math.ceil(timeoutMs / 100));
  const pidFile = shellQuote(paths.pidFile);
  const out = await ssh.run(
    [
      'set -e',
      `mkdir -p ${shellQuote(paths.stateDir)}`,
      `cd ${shellQuote(paths.agentDir)}`,
      `rm -f ${pidFile}`,
      `echo "--- $(date -u +%FT%TZ) starting ${spec.bundlePath}" >> ${shellQuote(paths.logFile)}`,
      `${spec.useSetsid ? 'setsid ' : ''}nohup ${launcher} >> ${shellQuote(paths.logFile)} 2>&1 < /dev/null &`,
      'set +e',
      'i=0',
      `while [ $i -lt ${tenths} ]; do`,
      `  pid=$(cat ${pidFile} 2>/dev/null || true)`,
      '  if [ -n "$pid" ]; then',
      '    if ! kill -0 "$pid" 2>/dev/null; then echo "dead $pid"; exit 0; fi',
      `    if [ -S ${shellQuote(paths.controlSocket)} ]; then echo "listening $pid"; exit 0; fi`,
      '  fi',
      '  sleep 0.1; i=$((i+1))',
      'done',
      'echo "timeout $pid"',
    ].join('\n'),
    { timeoutMs: timeoutMs + 20_000 },
  );
  const [state, pidText] = out.trim().split(/\s+/);
  if (state === 'listening') return Number(pidText);
  const tail = await logTail(ssh, paths);
  if (state === 'dead') {
    throw new FerryError(
      'ERR_IO',
      `the agent on ${ssh.target.host} exited while starting; last lines of ${paths.logFile}:\n${tail}`,
    );
  }
  throw new FerryError(
    'ERR_TIMEOUT',
    `the agent on ${ssh.target.host} did not open ${paths.controlSocket} within ${timeoutMs} ms; ` +
      `last lines of ${paths.logFile}:\n${tail}`,
  );
}

export async function logTail(ssh: SshConnection, paths: AgentPaths, lines = 20): Promise<string> {
  const result = await ssh.exec(`tail -n ${lines} ${shellQuote(paths.logFile)} 2>/dev/null`);
  return result.stdout.trim();
}

export interface StopOptions {
  /** How long to wait for a clean exit after SIGTERM (default 30 s). */
  timeoutMs?: number;
  /** After the timeout, SIGKILL instead of failing. The agent's durable state survives a kill. */
  force?: boolean;
  /** The agent as found by findRunningAgent, to save a round trip. */
  running?: RunningAgent;
}

/**
 * Stops the agent with SIGTERM (it flushes its state, then exits) and waits for it on the appliance.
 * Resolves false when none was running.
 */
export async function stopAgent(
  ssh: SshConnection,
  paths: AgentPaths,
  options: StopOptions = {},
): Promise<boolean> {
  const running = options.running ?? (await findRunningAgent(ssh, paths));
  if (!running) return false;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const tenths = Math.max(1, Math.ceil(timeoutMs / 100));
  const pid = running.pid;
  const out = await ssh.run(
    [
      `kill -TERM ${pid} 2>/dev/null || true`,
      'i=0',
      `while kill -0 ${pid} 2>/dev/null; do`,
      `  if [ $i -ge ${tenths} ]; then`,
      options.force ? `    kill -KILL ${pid}; sleep 0.2; echo killed; break` : '    echo running; exit 0',
      '  fi',
      '  sleep 0.1; i=$((i+1))',
      'done',
      `rm -f ${shellQuote(paths.pidFile)}`,
      'echo stopped',
    ].join('\n'),
    { timeoutMs: timeoutMs + 20_000 },
  );
  if (out.trim().endsWith('stopped')) return true;
  throw new FerryError(
    'ERR_TIMEOUT',
    `the agent (pid ${pid}) on ${ssh.target.host} did not stop within ${timeoutMs} ms of SIGTERM; ` +
      `see ${paths.logFile}, or stop it with force`,
    { pid },
  );
}
