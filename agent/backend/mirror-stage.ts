// The stage a move puts in a virtual volume's chain while it copies: host I/O goes to the source,
// and changes to regions the copy has already passed (behind the cursor) go to the target as well,
// acknowledged after both. A change that touches a chunk being copied waits for that chunk.
// Reads, extents and cache hints come from the source. A failing target never fails host I/O: the
// region goes into the move's dirty map (durably) and the move goes degraded.
//
// The stage owns neither the source nor the target: close() leaves both open for the volume layer
// and the move to close.

import { zeroRange } from '../move/chunk-copier.js';
import type { ByteRange } from '../move/dirty-map.js';
import { type ChunkLocks, OverlapGate } from '../move/range-lock.js';
import type { TargetLink } from '../move/target-link.js';
import type {
  BackendCapabilities,
  BlockBackend,
  Extent,
  WriteOptions,
  ZeroOptions,
} from './block-backend.js';

/** What the mirror needs from the move it serves (the copy engine implements it). */
export interface MirrorCoordinator {
  readonly locks: ChunkLocks;
  readonly link: TargetLink;
  /** The parts of a range the target must receive now: copied chunks while the move is active. */
  mirrorRuns(offset: number, length: number): ByteRange[];
  /** Write intent for regions about to be written on the target; resolves with its end. */
  beginTargetWrite(runs: ByteRange[]): Promise<() => void>;
  /** Records regions the target missed; `durable` waits until the record is on disk. */
  markDirty(runs: ByteRange[], durable: boolean): Promise<void>;
  /** Flushes the target; never rejects (a failure is recorded as lost writes and degrades the move). */
  flushTarget(): Promise<void>;
  /** A host change was mirrored (or recorded dirty for the target): for the progress counters. */
  noteMirrored(): void;
  /** A host request arrived (any kind): the copy yields to busy hosts. */
  noteHostIo(): void;
}

type TargetOp = (target: BlockBackend, run: ByteRange) => Promise<void>;

export class MirrorStage implements BlockBackend {
  private readonly overlaps = new OverlapGate();

  constructor(
    private readonly source: BlockBackend,
    private readonly move: MirrorCoordinator,
  ) {}

  size(): number {
    return this.source.size();
  }

  capabilities(): BackendCapabilities {
    return this.source.capabilities();
  }

  read(into: Buffer, offset: number): Promise<void> {
    this.move.noteHostIo();
    return this.source.read(into, offset);
  }

  write(data: Buffer, offset: number, opts?: WriteOptions): Promise<void> {
    return this.change(
      offset,
      data.length,
      () => this.source.write(data, offset, opts),
      (t, run) =>
        t.write(data.subarray(run.offset - offset, run.offset - offset + run.length), run.offset, opts),
    );
  }

  zero(offset: number, length: number, opts?: ZeroOptions): Promise<void> {
    return this.change(
      offset,
      length,
      () => this.source.zero(offset, length, opts),
      (t, run) => zeroRange(t, run.offset, run.length, { fua: opts?.fua }),
    );
  }

  /**
   * TRIM leaves the content unspecified (NBD spec, "NBD_CMD_TRIM"); the target gets zeroes where it
   * can, so it reads as a hole-punched source does.
   */
  trim(offset: number, length: number, opts?: WriteOptions): Promise<void> {
    return this.change(
      offset,
      length,
      () => this.source.trim(offset, length, opts),
      async (t, run) => {
        const caps = t.capabilities();
        if (caps.canZero) await t.zero(run.offset, run.length, { mayTrim: true, fua: opts?.fua });
        else if (caps.canTrim) await t.trim(run.offset, run.length, opts);
      },
    );
  }

  async flush(): Promise<void> {
    this.move.noteHostIo();
    const [source] = await Promise.allSettled([this.source.flush(), this.move.flushTarget()]);
    if (source.status === 'rejected') throw source.reason;
  }

  extents(offset: number, length: number): Promise<Extent[]> {
    return this.source.extents(offset, length);
  }

  cache(offset: number, length: number): Promise<void> {
    this.move.noteHostIo();
    return this.source.cache(offset, length);
  }

  async close(): Promise<void> {}

  /** One host change: source always; target for the runs behind the cursor, under the chunk locks. */
  private async change(offset: number, length: number, sourceOp: () => Promise<void>, targetOp: TargetOp) {
    this.move.noteHostIo();
    if (length === 0) return sourceOp();
    const release = await this.move.locks.lockShared(offset, length);
    try {
      const runs = this.move.mirrorRuns(offset, length);
      if (runs.length === 0) return await sourceOp();
      this.move.noteMirrored();
      if (!this.move.link.healthy) {
        // Degraded: no request to a dead target; the region waits in the dirty map.
        try {
          await sourceOp();
        } finally {
          await this.move.markDirty(runs, true);
        }
        return;
      }
      const leave = await this.overlaps.enter(offset, length);
      try {
        const end = await this.move.beginTargetWrite(runs);
        try {
          const link = this.move.link;
          const target = Promise.all(runs.map((run) => link.run((t) => targetOp(t, run), run, 'mirror')));
          const [src, tgt] = await Promise.allSettled([sourceOp(), target]);
          // The intent mark covers these runs until end(), so recording them in memory is enough.
          if (src.status === 'rejected' || tgt.status === 'rejected') await this.move.markDirty(runs, false);
          if (src.status === 'rejected') throw src.reason;
        } finally {
          end();
        }
      } finally {
        leave();
      }
    } finally {
      release();
    }
  }
}
