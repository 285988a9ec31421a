// Two "appliances" for the console's SSH tests: a real OpenSSH sshd each (127.0.0.11, 127.0.0.12),
// with its own agent dir, pool folder and NBD address on its own loopback address, and the `ferry`
// CLI run on a temporary store. teardown() kills the agents started there (by the pid file in each
// agent dir: they are detached from sshd) and stops sshd, whatever happened.
import { execFile, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '../helpers/agent-bundle.js';
import { type SshdFixture, startSshd } from '../helpers/sshd-fixture.js';

export interface SshAppliance {
  name: string;
  sshd: SshdFixture;
  agentDir: string;
  poolDir: string;
  nbdListen: string;
  /** `ferry appliance add` arguments for it (without --accept-host-key). */
  addArgs(extra?: string[]): string[];
}

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
}

export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Makes sure dist/ferry.mjs is built from this checkout (as `npm test` does before vitest): rebuilt
 * when a console source is newer, into a temp file renamed into place, so a CLI started meanwhile by
 * another test never reads a half-written bundle.
 */
export async function buildBundles(): Promise<void> {
  if (!existsSync(join(REPO_ROOT, 'dist', 'ferry-agent.mjs')))
    execFileSync(process.execPath, [join(REPO_ROOT, 'build', 'build-agent.mjs')], { stdio: 'ignore' });
  const bundle = join(REPO_ROOT, 'dist', 'ferry.mjs');
  const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
  const newest = Math.max(...['main/cli', 'main/core', 'shared'].map((d) => newestTs(join(REPO_ROOT, d))));
  if (built > newest) return;
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  const temp = `${bundle}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(REPO_ROOT, 'main', 'cli', 'ferry.ts')],
    outfile: temp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    define: { FERRY_CONSOLE_VERSION: JSON.stringify(version) },
    logLevel: 'warning',
  });
  renameSync(temp, bundle);
}

function newestTs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

export async function startSshAppliance(name: string, host: string): Promise<SshAppliance> {
  const sshd = await startSshd({ host });
  const agentDir = join(sshd.dir, 'agent');
  const poolDir = join(sshd.dir, 'pool');
  mkdirSync(poolDir);
  const nbdListen = `${host}:${await freePort(host)}`;
  return {
    name,
    sshd,
    agentDir,
    poolDir,
    nbdListen,
    addArgs: (extra = []) => [
      'appliance',
      'add',
      name,
      '--host',
      sshd.host,
      '--port',
      String(sshd.port),
      '--user',
      sshd.user,
      '--identity',
      sshd.userKeyPath,
      '--agent-dir',
      agentDir,
      '--nbd-listen',
      nbdListen,
      ...extra,
    ],
  };
}

/** The pid in AGENT_DIR/agent.pid, if the file is there. */
export function agentPid(agentDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(agentDir, 'agent.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the appliance's agent (SIGKILL after 5 s), then sshd stops and its folder goes. */
export async function teardownAppliance(appliance: SshAppliance | undefined): Promise<void> {
  if (!appliance) return;
  const pid = agentPid(appliance.agentDir);
  if (pid !== null && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  await appliance.sshd.stop();
}

export function tempStore(): { dir: string; storePath: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-console-ssh-'));
  return {
    dir,
    storePath: join(dir, 'ferry.db'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs `node bin/ferry.mjs ARGS --store STORE` without a TTY and without an ssh-agent. */
export function ferry(storePath: string, args: string[], timeoutMs = 180_000): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, FERRY_LOG: 'quiet' };
  delete env.SSH_AUTH_SOCK;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'ferry.mjs'), ...args, '--store', storePath],
      { timeout: timeoutMs, env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? Number((err as { code: number }).code)
            : 1
          : 0;
        resolve({ stdout, stderr, code });
      },
    );
  });
}

/** A `ferry move ... --json` left running: resolves the move id at its first progress line; kill -9s it. */
export function startFerry(
  storePath: string,
  args: string[],
): { firstProgress: Promise<string>; kill(): void; exited: Promise<void> } {
  const env: NodeJS.ProcessEnv = { ...process.env, FERRY_LOG: 'quiet' };
  delete env.SSH_AUTH_SOCK;
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'ferry.mjs'), ...args, '--store', storePath],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let out = '';
  let errOut = '';
  child.stderr.on('data', (c: Buffer) => {
    errOut += c.toString('utf8');
  });
  const firstProgress = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      for (const line of out.split('\n')) {
        try {
          const event = JSON.parse(line) as { type?: string; move?: { id: string; percent: number } };
          if (event.type === 'move.progress' && event.move && event.move.percent > 0) resolve(event.move.id);
        } catch {
          // a partial line: wait for the rest
        }
      }
    });
    void exited.then(() => reject(new Error(`ferry exited before any progress:\n${out}\n${errOut}`)));
  });
  return { firstProgress, kill: () => child.kill('SIGKILL'), exited };
}

/** The JSON document a --json command printed on stdout (or its error on stderr). */
export function parseJson<T>(result: CliResult): T {
  const text = result.code === 0 ? result.stdout : result.stderr;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

export async function qemuIo(url: string, commands: string[]): Promise<string> {
  const args = ['-f', 'raw'];
  for (const c of commands) args.push('-c', c);
  args.push(url);
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile('qemu-io', args, { timeout: 60_000 }, (err, out, errOut) =>
      err ? reject(new Error(`qemu-io failed: ${err.message}\n${out}${errOut}`)) : resolve(out),
    ),
  );
  if (/fail|error|Pattern verification failed/i.test(stdout)) throw new Error(`qemu-io: ${stdout}`);
  return stdout;
}
