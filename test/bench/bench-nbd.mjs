#!/usr/bin/env node
// NBD server benchmark (not a test): fio's nbd engine, in one run, against `ferry-agent nbd-file`,
// nbdkit's file plugin and qemu-nbd, each serving its own copy of the same 1 GiB file. Prints
// IOPS / throughput per workload and the ratio to nbdkit. Figures on a shared machine are noisy.
//
//   npm run bench:nbd                 (BENCH_RUNTIME=seconds per run, default 10;
//                                      BENCH_SIZE=MiB of the file, default 1024)

import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runtime = Number(process.env.BENCH_RUNTIME ?? 10);
const sizeMiB = Number(process.env.BENCH_SIZE ?? 1024);

const workloads = [
  { name: '4 KiB randread QD16', rw: 'randread', bs: '4k', iodepth: 16, metric: 'iops' },
  { name: '4 KiB randwrite QD16', rw: 'randwrite', bs: '4k', iodepth: 16, metric: 'iops' },
  { name: '1 MiB seq read QD16', rw: 'read', bs: '1m', iodepth: 16, metric: 'MiB/s' },
  { name: '1 MiB seq write QD16', rw: 'write', bs: '1m', iodepth: 16, metric: 'MiB/s' },
];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, proc, label) {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`${label} exited with ${proc.exitCode}`);
    try {
      await run('nbdinfo', ['--size', `nbd://127.0.0.1:${port}/disk`]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${label} did not start on port ${port}`);
}

/** The agent bundle if it dispatches nbd-file, else a bundle of agent/nbd-file-command.ts alone. */
async function ferryCommand(work) {
  const dist = join(root, 'dist', 'ferry-agent.mjs');
  if (existsSync(dist)) {
    try {
      await run(process.execPath, [dist, 'nbd-file', '--help']);
      return [process.execPath, dist, 'nbd-file'];
    } catch {
      // fall through
    }
  }
  const { build } = await import('esbuild');
  const outfile = join(work, 'nbd-file-agent.mjs');
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
}

async function startServer(kind, file, work) {
  const port = await freePort();
  let argv;
  if (kind === 'ferry') {
    const [cmd, ...pre] = await ferryCommand(work);
    argv = [cmd, ...pre, file, '--listen', `127.0.0.1:${port}`, '--name', 'disk'];
  } else if (kind === 'nbdkit') {
    // Defaults of the file plugin: page cache, 16 threads, fdatasync for flush/FUA.
    argv = [
      'nbdkit',
      '-f',
      '--exit-with-parent',
      '-i',
      '127.0.0.1',
      '-p',
      String(port),
      '-e',
      'disk',
      'file',
      file,
    ];
  } else {
    // Matched to nbdkit: page cache (writeback), thread pool I/O.
    argv = ['qemu-nbd', '-f', 'raw', '-t', '--cache=writeback', '--aio=threads', '-e', '8'];
    argv.push('-b', '127.0.0.1', '-p', String(port), '-x', 'disk', file);
  }
  const env = { ...process.env, FERRY_LOG: 'quiet' };
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], env });
  await waitForPort(port, proc, kind);
  return {
    uri: `nbd://127.0.0.1:${port}/disk`,
    pid: proc.pid,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', resolve);
        proc.kill('SIGTERM');
      }),
  };
}

async function fio(uri, w) {
  const args = [
    '--name=bench',
    '--ioengine=nbd',
    `--uri=${uri}`,
    `--rw=${w.rw}`,
    `--bs=${w.bs}`,
    `--iodepth=${w.iodepth}`,
    `--size=${sizeMiB}m`,
    '--time_based',
    `--runtime=${runtime}`,
    '--output-format=json',
  ];
  const { stdout } = await run('fio', args, { maxBuffer: 64 * 1024 * 1024 });
  const job = JSON.parse(stdout.slice(stdout.indexOf('{'))).jobs[0];
  const side = w.rw.includes('read') ? job.read : job.write;
  return { value: w.metric === 'iops' ? side.iops : side.bw_bytes / (1024 * 1024), requests: side.total_ios };
}

/** CPU time (user + system, all threads) a process has used, in microseconds. */
async function cpuMicros(pid, ticksPerSecond) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond;
}

async function main() {
  for (const tool of ['fio', 'nbdkit', 'qemu-nbd', 'nbdinfo']) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      console.error(`bench-nbd: ${tool} is not installed; skipping the benchmark`);
      return;
    }
  }
  const work = await mkdtemp(join(tmpdir(), 'ferry-bench-nbd-'));
  try {
    console.log(`bench-nbd: preparing a ${sizeMiB} MiB file and three copies in ${work}`);
    const base = join(work, 'base.img');
    await run('sh', ['-c', `head -c ${sizeMiB}M /dev/urandom > '${base}'`]);
    const kinds = ['nbdkit', 'qemu-nbd', 'ferry'];
    const files = {};
    for (const kind of kinds) {
      files[kind] = join(work, `${kind}.img`);
      await copyFile(base, files[kind]);
    }
    await rm(base);
    // Start every server from a clean page cache: no writeback of the copies during the runs.
    await run('sync');
    const ticks = Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
    const results = {};
    const cpu = {};
    for (const w of workloads) {
      results[w.name] = {};
      cpu[w.name] = {};
      for (const kind of kinds) {
        const server = await startServer(kind, files[kind], work);
        try {
          const before = await cpuMicros(server.pid, ticks);
          const { value, requests } = await fio(server.uri, w);
          results[w.name][kind] = value;
          cpu[w.name][kind] = ((await cpuMicros(server.pid, ticks)) - before) / requests;
        } finally {
          await server.stop();
        }
        const line = `${format(results[w.name][kind], w.metric)}, ${cpu[w.name][kind].toFixed(1)} us CPU/request`;
        console.log(`  ${w.name.padEnd(22)} ${kind.padEnd(9)} ${line}`);
      }
    }
    printTable(results, cpu);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function format(value, metric) {
  return metric === 'iops'
    ? `${Math.round(value).toLocaleString('en-US')} IOPS`
    : `${value.toFixed(0)} MiB/s`;
}

function printTable(results, cpu) {
  console.log(
    `\nfio nbd engine, ${runtime} s per run, one connection, ${sizeMiB} MiB file (shared machine: noisy)`,
  );
  console.log("CPU/req: the server's user+system time (all threads) per request; less sensitive to noise\n");
  const header = [
    'workload',
    'nbdkit',
    'qemu-nbd',
    'ferry',
    'ferry/nbdkit',
    'qemu-nbd/nbdkit',
    'CPU/req nbdkit|qemu|ferry',
  ];
  const rows = workloads.map((w) => {
    const r = results[w.name];
    const c = cpu[w.name];
    return [
      w.name,
      format(r.nbdkit, w.metric),
      format(r['qemu-nbd'], w.metric),
      format(r.ferry, w.metric),
      `${(r.ferry / r.nbdkit).toFixed(2)}x`,
      `${(r['qemu-nbd'] / r.nbdkit).toFixed(2)}x`,
      `${c.nbdkit.toFixed(1)} | ${c['qemu-nbd'].toFixed(1)} | ${c.ferry.toFixed(1)} us`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

main().catch((err) => {
  console.error(`bench-nbd: ${err.message}`);
  process.exitCode = 1;
});
