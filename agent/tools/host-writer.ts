// `ferry-agent host-writer URL`: a host that keeps writing a volume and then proves every byte.
// It fills the volume with generation-0 blocks (--fill), then rewrites random blocks with growing
// generations until SIGTERM/SIGINT or --seconds, flushes, reads every block back and checks it
// against the last generation it acknowledged. Progress and the result are JSON lines on stdout,
// so the demo (and tests) can drive it. Exit 0 when every block verifies, 1 on any mismatch.
import { FerryError } from '../../shared/errors.js';
import { parseSize } from '../../shared/names.js';
import { parseCommandLine, positionalArgs, stringOption } from '../cli/args.js';
import { createLogger } from '../log.js';
import { NbdClient } from '../nbd/client/nbd-client.js';
import { parseNbdUrl } from '../nbd/nbd-url.js';
import { checkPattern, fillPattern, type PatternMismatch } from './verify-pattern.js';

const USAGE =
  'ferry-agent host-writer nbd://HOST:PORT/EXPORT [--fill] [--block-size 64K] [--depth 8] [--seconds N] [--seed N] [--rate WRITES_PER_SEC]';

interface WriterState {
  generations: Uint32Array;
  written: Uint8Array;
  writes: number;
  bytes: number;
  errors: number;
  lastError: string | null;
}

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export async function runHostWriter(argv: string[]): Promise<number> {
  const args = parseCommandLine(
    argv,
    {
      fill: { type: 'boolean' },
      'block-size': { type: 'string' },
      depth: { type: 'string' },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      rate: { type: 'string' },
    },
    USAGE,
  );
  const [url] = positionalArgs(args, ['URL'], USAGE);
  const target = parseNbdUrl(url);
  const blockSize = parseSize(stringOption(args, 'block-size') ?? '64K');
  const depth = Number(stringOption(args, 'depth') ?? 8);
  const seconds =
    stringOption(args, 'seconds') === undefined
      ? Number.POSITIVE_INFINITY
      : Number(stringOption(args, 'seconds'));
  const seed = Number(stringOption(args, 'seed') ?? 1) | 0;
  const rate =
    stringOption(args, 'rate') === undefined ? Number.POSITIVE_INFINITY : Number(stringOption(args, 'rate'));
  if (!Number.isInteger(depth) || depth < 1 || depth > 256)
    throw new FerryError('ERR_INVALID_ARGUMENT', `--depth must be 1-256, not ${depth}`);
  if (blockSize % 512 !== 0 || blockSize > 4 * 1024 * 1024) {
    throw new FerryError('ERR_INVALID_ARGUMENT', '--block-size must be a multiple of 512 up to 4M');
  }
  if (!(seconds > 0) || !(rate > 0))
    throw new FerryError('ERR_INVALID_ARGUMENT', '--seconds and --rate must be positive');

  const client = await NbdClient.connect({
    host: target.host,
    port: target.port,
    exportName: target.exportName,
    connections: 1,
    log: createLogger('host-writer'),
  });
  const blocks = Math.floor(client.size / blockSize);
  if (blocks < 1)
    throw new FerryError('ERR_INVALID_ARGUMENT', `the export is smaller than one ${blockSize}-byte block`);
  const state: WriterState = {
    generations: new Uint32Array(blocks),
    written: new Uint8Array(blocks),
    writes: 0,
    bytes: 0,
    errors: 0,
    lastError: null,
  };

  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  try {
    if (args.values.fill) await fill(client, state, blockSize, seed, depth);
    emit({ type: 'ready', blocks, blockSize, size: client.size });
    const started = Date.now();
    const progress = setInterval(
      () =>
        emit({
          type: 'progress',
          writes: state.writes,
          bytes: state.bytes,
          errors: state.errors,
          lastError: state.lastError,
        }),
      500,
    );
    try {
      await Promise.all(
        Array.from({ length: depth }, () =>
          writeLoop(
            client,
            state,
            blockSize,
            seed,
            () => stopping || Date.now() - started > seconds * 1000,
            rate / depth,
          ),
        ),
      );
    } finally {
      clearInterval(progress);
    }
    await client.flush();
    const mismatches = await verifyAll(client, state, blockSize, seed, depth);
    emit({
      type: 'result',
      writes: state.writes,
      bytes: state.bytes,
      errors: state.errors,
      lastError: state.lastError,
      verifiedBlocks: state.written.reduce((n, w) => n + w, 0),
      mismatches: mismatches.length,
      firstMismatches: mismatches.slice(0, 5),
    });
    return mismatches.length === 0 && state.errors === 0 ? 0 : 1;
  } finally {
    await client.close();
  }
}

async function fill(client: NbdClient, state: WriterState, blockSize: number, seed: number, depth: number) {
  let next = 0;
  const blocks = state.generations.length;
  await Promise.all(
    Array.from({ length: depth }, async () => {
      const buf = Buffer.allocUnsafe(blockSize);
      while (next < blocks) {
        const block = next++;
        await client.pwrite(fillPattern(buf, seed, block, 0), block * blockSize);
        state.written[block] = 1;
      }
    }),
  );
  await client.flush();
  emit({ type: 'filled', blocks });
}

async function writeLoop(
  client: NbdClient,
  state: WriterState,
  blockSize: number,
  seed: number,
  done: () => boolean,
  ratePerLoop: number,
) {
  const buf = Buffer.allocUnsafe(blockSize);
  const minGapMs = Number.isFinite(ratePerLoop) ? 1000 / ratePerLoop : 0;
  const blocks = state.generations.length;
  while (!done()) {
    const started = Date.now();
    const block = Math.floor(Math.random() * blocks);
    // Generations are claimed before the write and recorded only when acknowledged: a block in
    // flight in two loops at once would make "the last acknowledged" ambiguous, so skip busy ones.
    if (state.written[block] === 2) continue;
    const previous = state.written[block];
    state.written[block] = 2;
    const generation = state.generations[block] + 1;
    try {
      await client.pwrite(fillPattern(buf, seed, block, generation), block * blockSize);
      state.generations[block] = generation;
      state.written[block] = 1;
      state.writes++;
      state.bytes += blockSize;
    } catch (err) {
      state.written[block] = previous;
      state.errors++;
      state.lastError = (err as Error).message;
    }
    const elapsed = Date.now() - started;
    if (elapsed < minGapMs) await new Promise((r) => setTimeout(r, minGapMs - elapsed));
  }
}

async function verifyAll(
  client: NbdClient,
  state: WriterState,
  blockSize: number,
  seed: number,
  depth: number,
) {
  const mismatches: PatternMismatch[] = [];
  let next = 0;
  const blocks = state.generations.length;
  await Promise.all(
    Array.from({ length: depth }, async () => {
      const actual = Buffer.allocUnsafe(blockSize);
      const scratch = Buffer.allocUnsafe(blockSize);
      while (next < blocks) {
        const block = next++;
        if (state.written[block] !== 1) continue;
        await client.pread(actual, block * blockSize);
        const mismatch = checkPattern(actual, scratch, seed, block, state.generations[block]);
        if (mismatch) mismatches.push(mismatch);
      }
    }),
  );
  return mismatches;
}
