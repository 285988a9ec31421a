// A stage that delays requests and makes them fail on purpose, in front of any other stage (nbdkit's
// filters/delay and filters/error in one): fault tests put it in a chain to slow or break a target
// while real I/O flows, and rules can change at run time (break now, heal later).

import type { NbdErrnoName } from '../nbd/wire.js';
import {
  type BackendCapabilities,
  BackendError,
  type BlockBackend,
  type Extent,
  type WriteOptions,
  type ZeroOptions,
} from './block-backend.js';

export type BackendOp = 'read' | 'write' | 'flush' | 'trim' | 'zero' | 'extents' | 'cache';

export interface FaultRules {
  /** Milliseconds added before a request is passed on: one figure for all, or per operation. */
  delayMs?: number | Partial<Record<BackendOp, number>>;
  /** Probability (0..1) that a request fails instead of being passed on; 1 breaks it outright. */
  errorRate?: number;
  /** errno of the injected failures (default EIO). */
  errno?: NbdErrnoName;
  /** Operations the failures apply to (default: all). */
  errorOps?: BackendOp[];
}

export class FaultInjectingStage implements BlockBackend {
  private rules: FaultRules;
  /** Requests that failed on purpose, for tests to assert the fault really fired. */
  injectedErrors = 0;

  constructor(
    private readonly next: BlockBackend,
    rules: FaultRules = {},
    private readonly random: () => number = Math.random,
  ) {
    this.rules = validateRules(rules);
  }

  setRules(rules: FaultRules): void {
    this.rules = validateRules(rules);
  }

  /** Removes every delay and error: the stage passes requests straight through. */
  heal(): void {
    this.rules = {};
  }

  size(): number {
    return this.next.size();
  }

  capabilities(): BackendCapabilities {
    return this.next.capabilities();
  }

  async read(into: Buffer, offset: number): Promise<void> {
    await this.before('read');
    return this.next.read(into, offset);
  }

  async write(data: Buffer, offset: number, opts?: WriteOptions): Promise<void> {
    await this.before('write');
    return this.next.write(data, offset, opts);
  }

  async flush(): Promise<void> {
    await this.before('flush');
    return this.next.flush();
  }

  async trim(offset: number, length: number, opts?: WriteOptions): Promise<void> {
    await this.before('trim');
    return this.next.trim(offset, length, opts);
  }

  async zero(offset: number, length: number, opts?: ZeroOptions): Promise<void> {
    await this.before('zero');
    return this.next.zero(offset, length, opts);
  }

  async extents(offset: number, length: number): Promise<Extent[]> {
    await this.before('extents');
    return this.next.extents(offset, length);
  }

  async cache(offset: number, length: number): Promise<void> {
    await this.before('cache');
    return this.next.cache(offset, length);
  }

  close(): Promise<void> {
    return this.next.close();
  }

  private async before(op: BackendOp): Promise<void> {
    const { delayMs } = this.rules;
    const delay = typeof delayMs === 'number' ? delayMs : (delayMs?.[op] ?? 0);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    // The error rules are read after the delay: a fault set meanwhile hits requests already waiting.
    const { errorRate = 0, errno = 'EIO', errorOps } = this.rules;
    if (errorRate > 0 && (!errorOps || errorOps.includes(op)) && this.random() < errorRate) {
      this.injectedErrors++;
      throw new BackendError(errno, `injected ${errno} on ${op}`);
    }
  }
}

function validateRules(rules: FaultRules): FaultRules {
  const rate = rules.errorRate ?? 0;
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`errorRate must be between 0 and 1, got ${rate}`);
  const delays = typeof rules.delayMs === 'number' ? [rules.delayMs] : Object.values(rules.delayMs ?? {});
  for (const d of delays) {
    if (!(Number.isFinite(d) && d >= 0)) throw new RangeError(`delayMs must be >= 0, got ${d}`);
  }
  return { ...rules };
}
