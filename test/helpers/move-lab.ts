// Two (or more) real agents on loopback for move tests. Unlike agent-process.ts, an agent keeps its
// NBD port across restarts (a move's target URL names it), and kill -9 / restart are first-class.
// Also: a PSK, fio (nbd engine) runs with crc32c verify, qemu-io pattern checks. stop() always cleans.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach } from 'vitest';
import type { CreatedLv } from '../../shared/rpc/lvs.js';
import { copyAgentBundle } from './agent-bundle.js';

const run = promisify(execFile);
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface CtlOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export class LabAgent {
  private child: ChildProcess | undefined;
  /** The exit code, or null when a signal ended the process. */
  private exited: Promise<number | null> = Promise.resolve(0);
  private log = '';

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly port: number,
    private readonly bundle: string,
  ) {}

  static async create(root: string, name: string): Promise<LabAgent> {
    const dir = join(root, name);
    const bundle = copyAgentBundle(mkdtempSync(join(root, `${name}-bin-`)));
    const agent = new LabAgent(name, dir, await freePort(), bundle);
    await agent.start();
    return agent;
  }

  get control(): string {
    return join(this.dir, 'control.sock');
  }

  url(exportName: string, scheme = 'nbd'): string {
    return `${scheme}://127.0.0.1:${this.port}/${exportName}`;
  }

  output(): string {
    return this.log;
  }

  async start(): Promise<void> {
    const args = ['serve', '--state-dir', join(this.dir, 'state'), '--listen', `127.0.0.1:${this.port}`];
    const child = spawn(process.execPath, [this.bundle, ...args, '--control', this.control], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FERRY_LOG: '' },
    });
    this.child = child;
    live.add(child);
    child.stdout?.on('data', (d) => (this.log += d));
    child.stderr?.on('data', (d) => (this.log += d));
    this.exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))).finally(
      () => live.delete(child),
    );
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`agent ${this.name} exited at start:\n${this.log}`);
      }
      if ((await this.ctlRaw('info')).code === 0) return;
      if (Date.now() > deadline) throw new Error(`agent ${this.name} did not answer:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** kill -9 (or another signal) and wait until the process is gone; its exit code (null: signalled). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  ctlRaw(...args: string[]): Promise<CtlOutcome> {
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [this.bundle, 'ctl', '--control', this.control, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (d) => (stdout += d));
      proc.stderr.on('data', (d) => (stderr += d));
      proc.on('error', reject);
      proc.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  async ctl<T = unknown>(...args: string[]): Promise<T> {
    const res = await this.ctlRaw('--json', ...args);
    if (res.code !== 0)
      throw new Error(`${this.name}: ctl ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
    return JSON.parse(res.stdout) as T;
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
  }
}

export class MoveLab {
  readonly agents: LabAgent[] = [];
  private constructor(readonly root: string) {}

  static create(): MoveLab {
    return new MoveLab(mkdtempSync(join(tmpdir(), 'ferry-move-')));
  }

  async agent(name: string): Promise<LabAgent> {
    const agent = await LabAgent.create(this.root, name);
    this.agents.push(agent);
    return agent;
  }

  /**
   * The usual remote move: a front agent with vol1 (`volumeSize` of 0xab, pool pa) and a back agent
   * with an empty LV pb/t1 of `targetSize` exported over TLS-PSK; `to` is what `move start` needs.
   */
  async remotePair(volumeSize = '256M', targetSize = volumeSize) {
    const front = await this.agent('front');
    const back = await this.agent('back');
    await front.ctl('pool', 'add', 'pa', '--dir', `${front.dir}/pool`);
    await back.ctl('pool', 'add', 'pb', '--dir', `${back.dir}/pool`);
    await front.ctl('volume', 'create', 'vol1', '--size', volumeSize, '--pool', 'pa');
    const vv = front.url('vol1');
    await qemuIo(vv, `write -P 0xab 0 ${volumeSize}`);
    const targetLv = await back.ctl<CreatedLv>('lv', 'create', 'pb', 't1', '--size', targetSize);
    const key = randomBytes(32).toString('hex');
    await back.ctl('lv', 'export', 'pb', 't1', '--psk-identity', 'move-t1', '--psk-key', key);
    const target = back.url('pb/t1', 'nbds');
    const to = ['--to', target, '--psk-identity', 'move-t1', '--psk-key', key];
    return { front, back, vv, key, target, to, targetLv };
  }

  /** Safe to call twice; kills what is left and removes the temp dir. */
  async destroy(): Promise<void> {
    await Promise.allSettled(this.agents.map((a) => a.kill('SIGKILL')));
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * For a test file: returns a function that gives each test a fresh lab, destroyed after that test
 * (agents killed, folder removed) even when it fails.
 */
export function moveLabPerTest(): () => MoveLab {
  let lab: MoveLab | undefined;
  afterEach(async () => {
    await lab?.destroy();
    lab = undefined;
  });
  return () => {
    lab ??= MoveLab.create();
    return lab;
  };
}

/** A volume as `ctl --json volume list` shows it. */
export interface VolumeJson {
  name: string;
  epoch: number;
  mapping: { kind: string; url?: string; pool?: string; lv?: string };
}

export interface MoveJson {
  id: string;
  volume: string;
  phase: string;
  paused: boolean;
  hostsFirst?: boolean;
  copiedBytes: number;
  totalBytes: number;
  mirroredWrites: number;
  dirtyBytes: number;
  cutoverPauseMs: number | null;
  epoch: number;
  error?: string;
}

/** Polls move status until `done(status)` holds; throws with the last status after the timeout. */
export async function waitForMove(
  front: LabAgent,
  id: string,
  done: (m: MoveJson) => boolean,
  timeoutMs = 60_000,
): Promise<MoveJson> {
  const deadline = Date.now() + timeoutMs;
  let last: MoveJson | undefined;
  for (;;) {
    const res = await front.ctlRaw('--json', 'move', 'status', id);
    if (res.code === 0) {
      last = JSON.parse(res.stdout) as MoveJson;
      if (done(last)) return last;
    }
    if (Date.now() > deadline)
      throw new Error(`move ${id} still ${JSON.stringify(last)}\n${front.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** fio's nbd engine writing 4 KiB random blocks with crc32c headers (verifiable later). */
export function fioArgs(url: string, offset: string, size: string): string[] {
  return [
    '--name=ferry-move',
    '--ioengine=nbd',
    `--uri=${url}`,
    '--rw=randwrite',
    '--bs=4k',
    `--offset=${offset}`,
    `--size=${size}`,
    '--iodepth=8',
    '--verify=crc32c',
    '--randrepeat=1',
  ];
}

/** Runs fio; resolves with its exit code and output (never rejects on a non-zero exit). */
export function fio(args: string[]): Promise<{ code: number; output: string }> {
  return run('fio', args, { maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => ({ code: 0, output: stdout }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof err.code === 'number' ? err.code : 1,
      output: `${err.stdout ?? ''}${err.stderr ?? ''}`,
    }),
  );
}

/** qemu-io commands against an NBD URL; throws when a pattern does not verify. */
export async function qemuIo(url: string, ...commands: string[]): Promise<string> {
  const { stdout } = await run('qemu-io', ['-f', 'raw', ...commands.flatMap((c) => ['-c', c]), url], {
    maxBuffer: 16 * 1024 * 1024,
  });
  if (/fail|error|pattern verification/i.test(stdout)) throw new Error(`qemu-io: ${stdout}`);
  return stdout;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
