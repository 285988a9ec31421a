// Test harness for the move engine: a minimal stand-in for the volume layer (a router that sends
// host I/O to the current chain and implements the cutover hook: hold, drain, prepare, switch,
// release), an in-memory JSON store for the journal, and a random host writer.

import type { BlockBackend } from '../../agent/backend/block-backend.js';
import { CopyEngine } from '../../agent/move/copy-engine.js';
import type { CopyEngineOptions, CutoverHook } from '../../agent/move/copy-options.js';
import type { JsonDocumentStore } from '../../agent/move/move-journal.js';
import type { MoveCheckpoint, MoveProgress } from '../../agent/move/move-types.js';

/** Routes host I/O to one chain; hold() queues new requests, drained() waits for those in flight. */
export class TestVolumeRouter {
  epoch = 1;
  private inFlight = 0;
  private holding: Promise<void> | null = null;
  private release: (() => void) | null = null;
  private idle: Array<() => void> = [];

  constructor(public chain: BlockBackend) {}

  async write(data: Buffer, offset: number): Promise<void> {
    await this.enter();
    try {
      await this.chain.write(data, offset);
    } finally {
      this.leave();
    }
  }

  async zero(offset: number, length: number): Promise<void> {
    await this.enter();
    try {
      await this.chain.zero(offset, length);
    } finally {
      this.leave();
    }
  }

  async read(into: Buffer, offset: number): Promise<void> {
    await this.enter();
    try {
      await this.chain.read(into, offset);
    } finally {
      this.leave();
    }
  }

  /** The volume layer's side of the cutover, measuring the time host I/O was held. */
  readonly cutover: CutoverHook = async ({ target, prepareSwitch }) => {
    const started = performance.now();
    this.holding = new Promise((resolve) => (this.release = resolve));
    try {
      await this.drained();
      if (!(await prepareSwitch())) return { switched: false, pauseMs: performance.now() - started };
      this.chain = target;
      this.epoch++;
      return { switched: true, pauseMs: performance.now() - started };
    } finally {
      const release = this.release;
      this.holding = null;
      this.release = null;
      release?.();
    }
  };

  private async enter(): Promise<void> {
    while (this.holding) await this.holding;
    this.inFlight++;
  }

  private leave(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
  }

  private drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}

export class MemoryJsonStore implements JsonDocumentStore {
  readonly docs = new Map<string, string>();
  writes = 0;
  failWrites = false;

  async read(name: string): Promise<unknown> {
    const text = this.docs.get(name);
    return text === undefined ? undefined : JSON.parse(text);
  }

  async write(name: string, value: unknown): Promise<void> {
    if (this.failWrites) throw new Error('state store write failed (test)');
    this.writes++;
    this.docs.set(name, JSON.stringify(value));
  }
}

export interface EngineHarness {
  engine: CopyEngine;
  router: TestVolumeRouter;
  checkpoints: MoveCheckpoint[];
  events: MoveProgress[];
}

/** An engine whose mirror is the router's chain, recording checkpoints and progress events. */
export function makeEngine(
  options: Partial<CopyEngineOptions> & Pick<CopyEngineOptions, 'source' | 'target'>,
): EngineHarness {
  const checkpoints: MoveCheckpoint[] = [];
  const events: MoveProgress[] = [];
  const router = new TestVolumeRouter(options.source);
  const engine = new CopyEngine({
    id: 'mv-test',
    vv: 'vv-test',
    chunkSize: 256 * 1024,
    parallel: 4,
    checkpointIntervalMs: 100,
    retryInitialMs: 20,
    retryMaxMs: 100,
    persist: async (c) => {
      checkpoints.push(structuredClone(c));
    },
    reopenTarget: async () => {
      throw new Error('no reopen in this test');
    },
    cutover: router.cutover,
    publish: (p) => events.push(p),
    logger: quietLogger,
    ...options,
  });
  router.chain = engine.mirror;
  return { engine, router, checkpoints, events };
}

const noop = () => {};
export const quietLogger = {
  info: noop,
  warn: noop,
  error: noop,
  child: () => quietLogger,
};

/**
 * Writes random blocks (4 KiB to 256 KiB, 4 KiB aligned) until stopped; returns the count. Three
 * writers run at once, or one when a shadow copy of the expected content is kept (order matters).
 */
export function randomWriter(
  router: TestVolumeRouter,
  size: number,
  seed: number,
  shadow?: Buffer,
): { stop: () => Promise<number> } {
  let running = true;
  let count = 0;
  let x = seed >>> 0 || 1;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const loop = async () => {
    while (running) {
      const blocks = 1 + Math.floor(rand() * 64);
      const length = blocks * 4096;
      const offset = Math.floor(rand() * ((size - length) / 4096)) * 4096;
      const data = Buffer.alloc(length, Math.floor(rand() * 255) + 1);
      data.writeUInt32LE(count, 0);
      await router.write(data, offset);
      shadow?.set(data, offset);
      count++;
    }
  };
  const done = Promise.all(shadow ? [loop()] : [loop(), loop(), loop()]);
  return {
    stop: async () => {
      running = false;
      await done;
      return count;
    },
  };
}
