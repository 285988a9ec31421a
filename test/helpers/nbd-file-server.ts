// Test helpers that serve one file over Ferry's NBD server: in-process (to read its log lines and
// connections) or as the real `ferry-agent nbd-file` process, which real clients then talk to.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { BlockBackend } from '../../agent/backend/block-backend.js';
import { openFileBackend } from '../../agent/backend/file-backend.js';
import { createLogger } from '../../agent/log.js';
import type { ExportProvider } from '../../agent/nbd/export-provider.js';
import { NbdServer, type NbdServerOptions } from '../../agent/nbd/server.js';
import { singleExportProvider } from '../../agent/nbd-file-command.js';

export const execFileAsync = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface InProcessServer {
  server: NbdServer;
  port: number;
  backend: BlockBackend;
  /** Every log line the server wrote. */
  logs: string[];
  uri(name?: string): string;
  close(): Promise<void>;
}

export interface InProcessOptions extends Partial<Omit<NbdServerOptions, 'provider' | 'log'>> {
  file: string;
  name?: string;
  readOnly?: boolean;
  pskKeys?: Map<string, Buffer>;
  /** Replaces the single-file provider (the backend is still opened and closed here). */
  provider?: (backend: BlockBackend) => ExportProvider;
}

export async function startInProcessServer(opts: InProcessOptions): Promise<InProcessServer> {
  const name = opts.name ?? 'disk';
  const backend = await openFileBackend(opts.file, { readOnly: opts.readOnly });
  const logs: string[] = [];
  const log = createLogger('nbd', (line) => {
    logs.push(line);
    if (process.env.FERRY_TEST_LOG) process.stderr.write(`${line}\n`);
  });
  const provider = opts.provider
    ? opts.provider(backend)
    : singleExportProvider(name, backend, opts.readOnly === true, opts.pskKeys);
  const server = new NbdServer({ ...opts, provider, log });
  const { port } = await server.listen('127.0.0.1', 0);
  return {
    server,
    port,
    backend,
    logs,
    uri: (exportName = name) => `nbd://127.0.0.1:${port}/${exportName}`,
    close: async () => {
      await server.close();
      await backend.close();
    },
  };
}

/**
 * The agent's `nbd-file` command as a runnable bundle. Uses dist/ferry-agent.mjs once its entry
 * dispatches `nbd-file`; until then bundles agent/nbd-file-command.ts with a two-line entry.
 */
let agentCommand: Promise<string[]> | undefined;
export function nbdFileAgentCommand(): Promise<string[]> {
  agentCommand ??= (async () => {
    const dist = join(root, 'dist', 'ferry-agent.mjs');
    if (existsSync(dist)) {
      try {
        await execFileAsync(process.execPath, [dist, 'nbd-file', '--help'], { timeout: 10_000 });
        return [process.execPath, dist, 'nbd-file'];
      } catch {
        // not dispatched yet: build our own below
      }
    }
    const outfile = join(await mkdtemp(join(tmpdir(), 'ferry-nbd-file-')), 'nbd-file-agent.mjs');
    await build({
      stdin: {
        contents:
          "import { runNbdFileCommand } from './agent/nbd-file-command.ts';\n" +
          'process.exitCode = await runNbdFileCommand(process.argv.slice(2));\n',
        resolveDir: root,
        loader: 'ts',
      },
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node18',
      logLevel: 'warning',
    });
    return [process.execPath, outfile];
  })();
  return agentCommand;
}

export interface AgentProcess {
  proc: ChildProcess;
  port: number;
  stderr: () => string;
  stop(): Promise<number | null>;
}

/** Starts `ferry-agent nbd-file FILE --listen 127.0.0.1:0 ARGS` and waits for its address. */
export async function spawnNbdFileAgent(file: string, args: string[] = []): Promise<AgentProcess> {
  const [cmd, ...pre] = await nbdFileAgentCommand();
  const proc = spawn(cmd, [...pre, file, '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /NBD listening on [^\s]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`nbd-file exited (${code}) before listening: ${stderr}`)));
  });
  return {
    proc,
    port,
    stderr: () => stderr,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** A temp folder removed by the returned cleanup. */
export async function tempDir(prefix = 'ferry-nbd-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A sparse file of `size` bytes (a hole throughout). */
export async function sparseFile(path: string, size: number): Promise<string> {
  await writeFile(path, '');
  await execFileAsync('truncate', ['-s', String(size), path]);
  return path;
}

/** True when every named tool is on PATH (tests skip with a reason otherwise). */
export function haveTools(...tools: string[]): boolean {
  const path = (process.env.PATH ?? '').split(':');
  return tools.every((t) => path.some((dir) => existsSync(join(dir, t))));
}
