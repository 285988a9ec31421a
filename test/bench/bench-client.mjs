// Benchmark (not a test): Ferry's NBD client against `nbdkit file`, plain and TLS-PSK, writing then
// reading SIZE bytes, next to nbdcopy doing the same transfers. Files live on /dev/shm when it
// exists, so the disk does not hide the protocol's cost. Prints MB/s and the ratio to nbdcopy.
//
//   node test/bench/bench-client.mjs [--size 1G] [--connections 4] [--request 256K] [--inflight 64] [--repeat 3]

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { arg, parseSize, startNbdkit } from './bench-helpers.mjs';

const run = promisify(execFile);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const SIZE = parseSize(arg('size', '1G'));
const CONNECTIONS = Number(arg('connections', '4'));
const REQUEST = parseSize(arg('request', '256K'));
const IN_FLIGHT = Number(arg('inflight', '64'));
// The machine is shared: each figure is the best of REPEAT runs, alternating the tools.
const REPEAT = Number(arg('repeat', '3'));

async function bundleClient(dir) {
  const outfile = path.join(dir, 'nbd-client.mjs');
  await build({
    entryPoints: [path.join(root, 'agent', 'nbd', 'client', 'nbd-client.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    logLevel: 'warning',
  });
  return import(pathToFileURL(outfile).href);
}

async function sparse(file, size) {
  const fh = await open(file, 'w');
  await fh.truncate(size);
  await fh.close();
}

/** Runs `count` requests of REQUEST bytes with a window of `window` in flight. */
async function windowed(total, window, issue) {
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const at = next;
      next += REQUEST;
      await issue(at, Math.min(REQUEST, total - at));
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}

function mbps(bytes, ms) {
  return bytes / 1e6 / (ms / 1000);
}

async function timeIt(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function benchFerry(NbdClient, port, tls) {
  const client = await NbdClient.connect({
    host: '127.0.0.1',
    port,
    exportName: '',
    tls,
    connections: CONNECTIONS,
    maxInFlight: IN_FLIGHT,
    log: {
      info() {},
      warn() {},
      error() {},
      child() {
        return this;
      },
    },
  });
  const window = IN_FLIGHT * client.connectionCount;
  const source = randomBytes(8 * 1024 * 1024);
  const writeMs = await timeIt(async () => {
    await windowed(SIZE, window, (at, len) => {
      const from = at % source.length;
      const slice = from + len <= source.length ? source.subarray(from, from + len) : source.subarray(0, len);
      return client.pwrite(slice, at);
    });
    await client.flush();
  });
  const buffers = Array.from({ length: window }, () => Buffer.allocUnsafe(REQUEST));
  let free = buffers.slice();
  const readMs = await timeIt(() =>
    windowed(SIZE, window, async (at, len) => {
      const buf = free.pop();
      await client.pread(buf.subarray(0, len), at);
      free.push(buf);
    }),
  );
  free = [];
  await client.close();
  return { writeMs, readMs, connections: client.connectionCount };
}

async function benchNbdcopy(url, sourceFile) {
  const writeMs = await timeIt(() => run('nbdcopy', ['--flush', sourceFile, url]));
  const readMs = await timeIt(() => run('nbdcopy', [url, 'null:']));
  return { writeMs, readMs };
}

async function main() {
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = await mkdtemp(path.join(base, 'ferry-bench-client-'));
  const servers = [];
  try {
    const { NbdClient } = await bundleClient(dir);
    const identity = 'bench';
    const key = randomBytes(32);
    const pskFile = path.join(dir, 'psk.txt');
    await writeFile(pskFile, `${identity}:${key.toString('hex')}\n`, { mode: 0o600 });

    // nbdcopy's source: SIZE bytes of non-zero data (nbdcopy would skip zeroes).
    const sourceFile = path.join(dir, 'source.img');
    const chunk = randomBytes(8 * 1024 * 1024);
    const fh = await open(sourceFile, 'w');
    for (let at = 0; at < SIZE; at += chunk.length)
      await fh.write(chunk, 0, Math.min(chunk.length, SIZE - at), at);
    await fh.close();

    const rows = [];
    // Each tool gets a fresh sparse target and its own server, so neither profits from pages the
    // other allocated.
    const fresh = async (mode) => {
      const target = path.join(dir, `target-${mode}.img`);
      await rm(target, { force: true });
      await sparse(target, SIZE);
      const server = await startNbdkit(target, mode === 'tls-psk' ? pskFile : undefined);
      servers.push(server);
      return server;
    };
    const stopAll = async () => {
      await Promise.all(servers.splice(0).map((s) => s.stop()));
    };
    for (const mode of ['plain', 'tls-psk']) {
      const tls = mode === 'tls-psk' ? { identity, key } : undefined;
      let server = await fresh(mode);
      const url = (port) =>
        mode === 'tls-psk'
          ? `nbds://${identity}@127.0.0.1:${port}/?tls-psk-file=${pskFile}`
          : `nbd://127.0.0.1:${port}/`;
      const best = {
        copy: { writeMs: Infinity, readMs: Infinity },
        ferry: { writeMs: Infinity, readMs: Infinity },
      };
      const keep = (slot, r) => {
        slot.writeMs = Math.min(slot.writeMs, r.writeMs);
        slot.readMs = Math.min(slot.readMs, r.readMs);
      };
      for (let i = 0; i < REPEAT; i++) {
        if (i > 0) server = await fresh(mode);
        keep(best.copy, await benchNbdcopy(url(server.port), sourceFile));
        await stopAll();
        server = await fresh(mode);
        keep(best.ferry, await benchFerry(NbdClient, server.port, tls));
        await stopAll();
      }
      const { copy, ferry } = best;
      rows.push({ mode, op: 'write', ferry: mbps(SIZE, ferry.writeMs), nbdcopy: mbps(SIZE, copy.writeMs) });
      rows.push({ mode, op: 'read', ferry: mbps(SIZE, ferry.readMs), nbdcopy: mbps(SIZE, copy.readMs) });
    }

    console.log(
      `Ferry NBD client vs nbdcopy, ${SIZE / 1024 ** 2} MiB, ${REQUEST / 1024} KiB requests, ` +
        `${CONNECTIONS} connections x ${IN_FLIGHT} in flight, nbdkit file on ${base}, best of ${REPEAT}`,
    );
    console.log('| mode | op | Ferry MB/s | nbdcopy MB/s | ratio |');
    console.log('| --- | --- | ---: | ---: | ---: |');
    for (const r of rows) {
      console.log(
        `| ${r.mode} | ${r.op} | ${r.ferry.toFixed(0)} | ${r.nbdcopy.toFixed(0)} | ${(r.ferry / r.nbdcopy).toFixed(2)} |`,
      );
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
