// Benchmark (not a test): an online move between two Ferry agents on loopback, next to nbdcopy
// between two nbdkit file exports of the same files, in one run:
//   (a) copy time of a SIZE vv (half random data, half zeroes): Ferry's move (TLS-PSK) against
//       nbdcopy plain and nbdcopy over TLS-PSK;
//   (b) fio 4 KiB random-write latency (p50/p99, iodepth 1) on a vv with and without a move running,
//       and on a vv whose LV is on the other agent (the floor of a mirrored write);
//   (c) the cutover pause each move reports.
// And the floor under the move: its data half sent over one TLS-PSK stream between two Node
// processes, with no NBD and no disk (tls-stream-floor.mjs).
// Files live on /dev/shm when it exists, so the disk does not hide the protocols' cost.
//
//   npm run bench:copy -- [--size 2G] [--fio-seconds 4] [--chunk 4M] [--throttle 100M] [--busy-throttle 16M|0]

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { arg, freePort, parseSize, startNbdkit, time } from './bench-helpers.mjs';

const run = promisify(execFile);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bundle = path.join(root, 'dist', 'ferry-agent.mjs');

const SIZE_TEXT = arg('size', '2G');
const SIZE = parseSize(SIZE_TEXT);
const FIO_SECONDS = Number(arg('fio-seconds', '4'));
const CHUNK = arg('chunk', undefined);
const THROTTLE = arg('throttle', undefined);
const BUSY_THROTTLE = arg('busy-throttle', undefined);
const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

const children = new Set();
function track(proc) {
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return proc;
}

/**
 * FERRY_BENCH_PROFILE=front|back|both writes V8 CPU profiles of those agents into
 * FERRY_BENCH_PROFILE_DIR (default ./artifacts/bench-profiles), to find where a move spends its time.
 */
function profileFlags(dir) {
  const which = process.env.FERRY_BENCH_PROFILE;
  if (!which || (which !== 'both' && !dir.endsWith(which))) return [];
  const out = process.env.FERRY_BENCH_PROFILE_DIR ?? path.resolve('artifacts', 'bench-profiles');
  return ['--cpu-prof', '--cpu-prof-dir', out, '--cpu-prof-name', `${path.basename(dir)}.cpuprofile`];
}

async function startAgent(dir) {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const control = path.join(dir, 'control.sock');
  const proc = track(
    spawn(
      process.execPath,
      [
        ...profileFlags(dir),
        bundle,
        'serve',
        '--state-dir',
        path.join(dir, 'state'),
        '--listen',
        `127.0.0.1:${port}`,
        '--control',
        control,
      ],
      {
        stdio: ['ignore', 'ignore', process.env.FERRY_TRACE && dir.endsWith('front') ? 'inherit' : 'ignore'],
        env: { ...process.env, FERRY_LOG: 'quiet' },
      },
    ),
  );
  const ctl = async (...args) => {
    const { stdout } = await run(process.execPath, [bundle, 'ctl', '--control', control, '--json', ...args], {
      maxBuffer: 1 << 24,
    });
    return stdout.trim() ? JSON.parse(stdout) : undefined;
  };
  for (let i = 0; ; i++) {
    try {
      await ctl('info');
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // One control connection for the measured calls and the events, as the console keeps one: a
  // ctl process per call costs ~0.17 s of Node start-up, which is not the move's, and its CPU.
  const rpc = await openControl(control);
  return {
    port,
    ctl,
    call: rpc.call,
    nextEvent: rpc.nextEvent,
    url: (name, scheme = 'nbd') => `${scheme}://127.0.0.1:${port}/${name}`,
    stop: () => {
      rpc.close();
      proc.kill('SIGTERM');
    },
  };
}

/**
 * The agent's control RPC (JSON-RPC 2.0, one JSON text per line, on its UNIX socket): `call` sends
 * a request and resolves with its result; `nextEvent` resolves with the first pushed event `match`
 * accepts (events.subscribe).
 */
async function openControl(socketPath) {
  const socket = net.createConnection(socketPath);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const pending = new Map();
  const watchers = new Set();
  let nextId = 1;
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (text) => {
    buffered += text;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const msg = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      if (msg.id !== undefined && pending.has(msg.id)) {
        const { resolve, reject } = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) reject(new Error(`${msg.error.message} (${msg.error.data?.code ?? msg.error.code})`));
        else resolve(msg.result);
      } else if (msg.method === 'event') {
        for (const w of [...watchers]) w(msg.params);
      }
    }
  });
  const call = (method, params) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  await call('events.subscribe', {});
  const nextEvent = (match) =>
    new Promise((resolve) => {
      const watcher = (event) => {
        if (!match(event)) return;
        watchers.delete(watcher);
        resolve(event);
      };
      watchers.add(watcher);
    });
  return { call, nextEvent, close: () => socket.destroy() };
}

/** SIZE bytes: the first half random, the second half a hole (reads as zeroes). */
async function makeSource(file) {
  const fh = await open(file, 'w');
  const piece = 16 * 1024 * 1024;
  for (let at = 0; at < SIZE / 2; at += piece)
    await fh.write(randomBytes(Math.min(piece, SIZE / 2 - at)), 0, undefined, at);
  await fh.close();
  await truncate(file, SIZE);
}

async function nbdcopy(src, dst, tlsFile) {
  const s = await startNbdkit(src, tlsFile, track);
  const d = await startNbdkit(dst, tlsFile, track);
  const uri = (port) =>
    tlsFile ? `nbds://bench@127.0.0.1:${port}/?tls-psk-file=${tlsFile}` : `nbd://127.0.0.1:${port}/`;
  try {
    return await time(() => run('nbdcopy', [uri(s.port), uri(d.port)]));
  } finally {
    await s.stop();
    await d.stop();
  }
}

async function fioLatency(url, seconds) {
  const { stdout } = await run(
    'fio',
    [
      '--name=lat',
      '--ioengine=nbd',
      `--uri=${url}`,
      '--rw=randwrite',
      '--bs=4k',
      '--iodepth=1',
      '--size=512M',
      '--time_based',
      `--runtime=${seconds}`,
      '--output-format=json',
    ],
    { maxBuffer: 1 << 24 },
  );
  // fio may print notices before its JSON.
  const json = stdout.slice(stdout.indexOf('{'));
  let report;
  try {
    report = JSON.parse(json);
  } catch {
    throw new Error(`fio did not report: ${stdout.slice(0, 500)}`);
  }
  const clat = report.jobs[0].write.clat_ns.percentile;
  return {
    p50: clat['50.000000'] / 1000,
    p90: clat['90.000000'] / 1000,
    p99: clat['99.000000'] / 1000,
    p999: clat['99.900000'] / 1000,
  };
}

/**
 * Starts a move and waits for its end. Its time runs from the start request to the move's own
 * finishedAt: the "done" event can follow up to 250 ms later, as progress events are capped at 4
 * per second per move.
 */
async function moveAndWait(front, volume, to, key, targetIsZero) {
  const started = Date.now();
  let id = null;
  const ended = front.nextEvent(
    (e) => e.type === 'move.progress' && e.move === id && ['done', 'failed', 'aborted'].includes(e.phase),
  );
  const m = await front.call('move.start', {
    volume,
    target: {
      kind: 'remote',
      url: to,
      pskIdentity: `bench-${volume}`,
      pskKey: key,
      readsAsZero: targetIsZero,
    },
    ...(CHUNK ? { chunkSize: parseSize(CHUNK) } : {}),
    ...(THROTTLE ? { throttle: parseSize(THROTTLE) } : {}),
    ...(BUSY_THROTTLE ? { busyThrottle: parseSize(BUSY_THROTTLE) } : {}),
  });
  id = m.id;
  const end = await ended;
  if (end.phase !== 'done') throw new Error(`move ${m.id} ${end.phase}: ${end.error}`);
  const { finishedAt } = await front.call('move.status', { id });
  const seconds = (Date.parse(finishedAt) - started) / 1000;
  return { seconds, pauseMs: end.cutoverPauseMs };
}

async function main() {
  const dir = await mkdtemp(path.join(base, 'ferry-bench-copy-'));
  const key = randomBytes(32).toString('hex');
  try {
    console.log(`bench:copy: ${SIZE_TEXT} (half random, half zeroes) in ${dir}`);
    const src = path.join(dir, 'src.img');
    await makeSource(src);
    const pskFile = path.join(dir, 'psk.txt');
    await writeFile(pskFile, `bench:${key}\n`, { mode: 0o600 });

    const dst = path.join(dir, 'dst.img');
    const refs = {};
    // The reference gets the benefit of the doubt on a noisy machine: the best of a few runs (plain
    // nbdcopy varied 0.96-4.3 s between runs here; it is over in a second or two).
    for (const [name, tls, runs] of [
      ['plain', null, 3],
      ['tls-psk', pskFile, 1],
    ]) {
      for (let i = 0; i < runs; i++) {
        await rm(dst, { force: true });
        await truncate(await open(dst, 'w').then((f) => f.close().then(() => dst)), SIZE);
        const seconds = await nbdcopy(src, dst, tls);
        refs[name] = Math.min(refs[name] ?? Number.POSITIVE_INFINITY, seconds);
      }
    }
    await rm(dst, { force: true });

    const front = await startAgent(path.join(dir, 'front'));
    const back = await startAgent(path.join(dir, 'back'));
    await front.ctl('pool', 'add', 'pa', '--dir', path.join(dir, 'front', 'pool'));
    await back.ctl('pool', 'add', 'pb', '--dir', path.join(dir, 'back', 'pool'));
    const volumes = ['vol1', 'vol2'];
    // As the console does: a target LV that lv create says reads as zeroes is claimed so at move
    // start (FERRY_BENCH_SEND_ZEROES=1 sends the zero half anyway, to see what that costs).
    const targetIsZero = {};
    for (const v of volumes) {
      await front.ctl('volume', 'create', v, '--size', String(SIZE), '--pool', 'pa');
      // The same data as nbdcopy's source, as sparse (into the file the agent has open).
      await run('cp', ['--sparse=always', src, path.join(dir, 'front', 'pool', `${v}.img`)]);
      const lv = await back.ctl('lv', 'create', 'pb', v, '--size', String(SIZE));
      targetIsZero[v] = lv.readsAsZero === true && process.env.FERRY_BENCH_SEND_ZEROES !== '1';
      await back.ctl('lv', 'export', 'pb', v, '--psk-identity', `bench-${v}`, '--psk-key', key);
    }
    // The receiving agent with another client: nbdcopy writes the same file into a Ferry LV export
    // over TLS-PSK. Not a ceiling for the move: nbdcopy's own TLS (GnuTLS) is what bounds this line
    // here (nbdcopy between two nbdkits over TLS-PSK is as slow).
    await back.ctl('lv', 'create', 'pb', 'nbdcopy-in', '--size', String(SIZE));
    await back.ctl('lv', 'export', 'pb', 'nbdcopy-in', '--psk-identity', 'bench', '--psk-key', key);
    const nbdcopyIn = await time(() =>
      run('nbdcopy', [src, `nbds://bench@127.0.0.1:${back.port}/pb/nbdcopy-in?tls-psk-file=${pskFile}`]),
    );
    await back.ctl('lv', 'unexport', 'pb', 'nbdcopy-in');
    await back.ctl('lv', 'delete', 'pb', 'nbdcopy-in');
    await rm(src, { force: true });
    const { stdout: floorOut } = await run(process.execPath, [
      path.join(path.dirname(fileURLToPath(import.meta.url)), 'tls-stream-floor.mjs'),
      String(SIZE / 2),
    ]);
    const floor = JSON.parse(floorOut).seconds;

    // (a) the move alone; (b) fio latency without, then with a move running; (c) cutover pauses.
    const alone = await moveAndWait(front, 'vol1', back.url('pb/vol1', 'nbds'), key, targetIsZero.vol1);
    const quiet = await fioLatency(front.url('vol2'), FIO_SECONDS);
    const moving = moveAndWait(front, 'vol2', back.url('pb/vol2', 'nbds'), key, targetIsZero.vol2);
    const busy = await fioLatency(front.url('vol2'), Math.min(FIO_SECONDS, Math.max(1, alone.seconds * 0.8)));
    const underLoad = await moving;
    // The floor of a mirrored write: vol1 now lives on the other agent, every write goes there.
    const remote = await fioLatency(front.url('vol1'), FIO_SECONDS);
    front.stop();
    back.stop();

    const mbps = (s, bytes) => `${(bytes / s / 1e6).toFixed(0)} MB/s`;
    const rows = [
      ['nbdcopy, nbdkit -> nbdkit, plain (best of 3)', refs.plain],
      ['nbdcopy, nbdkit -> nbdkit, TLS-PSK', refs['tls-psk']],
      ['nbdcopy, file -> ferry agent, TLS-PSK', nbdcopyIn],
      ['TLS-PSK stream of the data half, Node to Node', floor, SIZE / 2],
      ['ferry move, agent -> agent, TLS-PSK', alone.seconds],
      ['ferry move with fio writing', underLoad.seconds],
    ];
    console.log('\n(a) copy');
    for (const [name, s, bytes = SIZE] of rows)
      console.log(`  ${name.padEnd(46)} ${s.toFixed(2).padStart(6)} s  ${mbps(s, bytes).padStart(10)}`);
    console.log(
      `  ferry vs nbdcopy plain:   ${(refs.plain / alone.seconds).toFixed(2)}x throughput (target >= 0.9x)`,
    );
    console.log(`  ferry vs nbdcopy TLS-PSK: ${(refs['tls-psk'] / alone.seconds).toFixed(2)}x throughput`);
    console.log(
      `  ferry vs nbdcopy into the same receiving agent: ${(nbdcopyIn / alone.seconds).toFixed(2)}x throughput`,
    );
    // The data half alone over TLS in Node, no NBD, no disk: what is left for framing, I/O and zeroes.
    console.log(`  ferry move minus the TLS stream floor: ${(alone.seconds - floor).toFixed(2)} s`);
    console.log('\n(b) fio 4 KiB random writes, iodepth 1, on the vv');
    const percentiles = (l) =>
      `p50 ${l.p50.toFixed(0)} us, p90 ${l.p90.toFixed(0)} us, p99 ${l.p99.toFixed(0)} us, p99.9 ${l.p999.toFixed(0)} us`;
    console.log(`  without a move: ${percentiles(quiet)}`);
    console.log(`  during a move:  ${percentiles(busy)}`);
    console.log(`  p99 ratio: ${(busy.p99 / quiet.p99).toFixed(2)}x (target <= 2x)`);
    // During a move a write behind the cursor is acknowledged after the target's: its floor is a
    // volume whose LV is on the other agent, with no move running.
    console.log(`  on the remote LV, no move: ${percentiles(remote)}`);
    console.log('\n(c) cutover pause');
    console.log(
      `  move alone: ${alone.pauseMs} ms; move under fio: ${underLoad.pauseMs} ms (target < 100 ms)`,
    );
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  for (const c of children) c.kill('SIGKILL');
  process.exitCode = 1;
});
