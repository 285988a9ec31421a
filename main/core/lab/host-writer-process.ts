// Runs the agent's host-writer (Ferry's own NBD client as a host) as a child process: it fills a
// volume with verifiable blocks, rewrites blocks at random until stopped, then reads every block back
// and reports. The demo and tests use it as the host that keeps writing during a move.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { FerryError } from '../../../shared/errors.js';
import { defaultBundlePath } from '../deploy/local-artifacts.js';

export interface HostWriterResult {
  writes: number;
  bytes: number;
  errors: number;
  lastError: string | null;
  verifiedBlocks: number;
  mismatches: number;
  firstMismatches: unknown[];
}

export interface HostWriter {
  ready: { blocks: number; blockSize: number; size: number };
  /** Latest progress line: writes so far, errors. */
  progress(): { writes: number; errors: number };
  /** Stops writing, verifies every block, resolves with the result. */
  stop(): Promise<HostWriterResult>;
}

export async function startHostWriter(
  url: string,
  options: { fill?: boolean; blockSize?: number; depth?: number; seed?: number; bundle?: string } = {},
): Promise<HostWriter> {
  const args = [options.bundle ?? defaultBundlePath(), 'host-writer', url];
  if (options.fill) args.push('--fill');
  if (options.blockSize) args.push('--block-size', String(options.blockSize));
  if (options.depth) args.push('--depth', String(options.depth));
  if (options.seed !== undefined) args.push('--seed', String(options.seed));
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FERRY_LOG: 'quiet' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let latest = { writes: 0, errors: 0 };
  let result: HostWriterResult | null = null;
  let onReady: ((r: HostWriter['ready']) => void) | null = null;
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  const ready = new Promise<HostWriter['ready']>((resolve, reject) => {
    onReady = resolve;
    exited.then((code) =>
      reject(new FerryError('ERR_IO', `the host writer exited early (code ${code}): ${stderr.trim()}`)),
    );
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    let msg: { type?: string } & Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.type === 'ready') onReady?.(msg as unknown as HostWriter['ready']);
    else if (msg.type === 'progress') latest = { writes: Number(msg.writes), errors: Number(msg.errors) };
    else if (msg.type === 'result') result = msg as unknown as HostWriterResult;
  });
  return {
    ready: await ready,
    progress: () => latest,
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (!result)
        throw new FerryError(
          'ERR_IO',
          `the host writer ended without a result (code ${code}): ${stderr.trim()}`,
        );
      return result;
    },
  };
}
