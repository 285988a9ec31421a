// What the benchmark scripts share: their command line, free ports, nbdkit as the reference server,
// timing. Benchmarks are plain Node scripts (no build step), so this is plain JavaScript too.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';

/** The value after --NAME on the command line, or `fallback`. */
export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

/** 512, 64K, 4M, 2G: bytes. */
export function parseSize(text) {
  const m = /^(\d+)([KMG]?)$/i.exec(text);
  if (!m) throw new Error(`bad size ${text}: use bytes or a number with K, M or G`);
  return Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase()];
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolves once `file` exists (10 s at most). */
async function waitFile(file) {
  for (let i = 0; i < 200; i++) {
    if (existsSync(file)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${file} did not appear`);
}

/**
 * `nbdkit file FILE` on a free port of 127.0.0.1, with TLS-PSK required when `pskFile` is given;
 * `onSpawn` sees the process (to kill it if the benchmark fails).
 */
export async function startNbdkit(file, pskFile, onSpawn = () => {}) {
  const port = await freePort();
  // nbdkit writes its pid file once it accepts connections: probing the port instead made it log a
  // "connection reset" error for each probe, in the middle of the benchmark's table.
  const pidFile = `${file}.nbdkit-${port}.pid`;
  const args = ['-f', '-p', String(port), '-i', '127.0.0.1', '-P', pidFile];
  if (pskFile) args.push('--tls=require', `--tls-psk=${pskFile}`);
  args.push('file', file);
  const proc = spawn('nbdkit', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  onSpawn(proc);
  await waitFile(pidFile);
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        const done = () => rm(pidFile, { force: true }).then(resolve);
        if (proc.exitCode !== null) return done();
        proc.once('exit', done);
        proc.kill('SIGTERM');
      }),
  };
}

/** Seconds `fn` took. */
export async function time(fn) {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}
