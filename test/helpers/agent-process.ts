// A real `ferry-agent serve` for integration tests: runs a private copy of dist/ferry-agent.mjs in a
// temp dir (state dir, control socket) with an ephemeral NBD port, waits until the control socket
// answers, and offers ctl(...args) (parsed --json output), ctlRaw(...args) (exit code and output),
// kill(signal), restart() on the same state dir and socket, and stop() which always cleans up
// (safe to call twice; the temp dir goes too unless keepDir).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyAgentBundle } from './agent-bundle.js';

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface AgentProcess {
  readonly dir: string;
  readonly stateDir: string;
  readonly control: string;
  readonly bundle: string;
  /** NBD address of the running agent (changes across restarts: port 0 each time). */
  readonly nbdHost: string;
  readonly nbdPort: number;
  readonly pid: number | undefined;
  /** nbd://127.0.0.1:PORT/NAME */
  nbdUrl(exportName: string): string;
  /** Runs `ctl --json ARGS`, throws (with stderr) if it fails, returns the parsed JSON. */
  ctl<T = unknown>(...args: string[]): Promise<T>;
  /** Runs `ctl ARGS` as given and returns exit code and output. */
  ctlRaw(...args: string[]): Promise<CtlResult>;
  /** Sends a signal and resolves with the exit code (or the signal name) once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<number | string>;
  /** Starts the agent again on the same state dir and control socket. */
  restart(): Promise<void>;
  /** Everything the agent printed (stdout and stderr), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  /** Keep the temp dir after stop() (debugging). */
  keepDir?: boolean;
  listenHost?: string;
  /** Extra `serve` options, e.g. ['--hosts-allow', '127.0.0.1', '--host-tls', 'require']. */
  serveArgs?: string[];
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startAgent(opts: StartAgentOptions = {}): Promise<AgentProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-agent-'));
  const bundle = copyAgentBundle(dir);
  const stateDir = join(dir, 'state');
  const control = join(dir, 'control.sock');
  const listenHost = opts.listenHost ?? '127.0.0.1';
  let child: ChildProcess | undefined;
  let exited: Promise<number | string> = Promise.resolve(0);
  let log = '';
  let nbdPort = 0;
  let stopped = false;

  const runCtl = (args: string[]): Promise<CtlResult> =>
    new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [bundle, 'ctl', '--control', control, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (d) => (stdout += d));
      proc.stderr.on('data', (d) => (stderr += d));
      proc.on('error', reject);
      proc.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });

  const launch = async () => {
    const proc = spawn(
      process.execPath,
      [
        bundle,
        'serve',
        '--state-dir',
        stateDir,
        '--listen',
        `${listenHost}:0`,
        '--control',
        control,
        ...(opts.serveArgs ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_LOG: '' } },
    );
    child = proc;
    live.add(proc);
    proc.stdout?.on('data', (d) => (log += d));
    proc.stderr?.on('data', (d) => (log += d));
    exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        live.delete(proc);
        resolve(code ?? signal ?? -1);
      }),
    );
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`ferry-agent exited at start (${proc.exitCode ?? proc.signalCode}):\n${log}`);
      }
      const res = await runCtl(['--json', 'info']);
      if (res.code === 0) {
        nbdPort = (JSON.parse(res.stdout) as { nbd: { port: number } }).nbd.port;
        return;
      }
      if (Date.now() > deadline) throw new Error(`ferry-agent did not answer on ${control}:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const agent: AgentProcess = {
    dir,
    stateDir,
    control,
    bundle,
    get nbdHost() {
      return listenHost;
    },
    get nbdPort() {
      return nbdPort;
    },
    get pid() {
      return child?.pid;
    },
    nbdUrl: (name) => `nbd://${listenHost}:${nbdPort}/${name}`,
    async ctl<T>(...args: string[]): Promise<T> {
      const res = await runCtl(['--json', ...args]);
      if (res.code !== 0) throw new Error(`ctl ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
      return (res.stdout.trim() === '' ? undefined : JSON.parse(res.stdout)) as T;
    },
    ctlRaw: (...args) => runCtl(args),
    async kill(signal = 'SIGTERM') {
      if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async restart() {
      await agent.kill('SIGKILL');
      await launch();
    },
    output: () => log,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await launch();
  } catch (err) {
    await agent.stop();
    throw err;
  }
  return agent;
}
