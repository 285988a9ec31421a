// One running move inside the agent: its engine, wired to the vv (the mirror stage in the vv's chain),
// to its journal (checkpoints), to the event bus (progress) and to the volume layer (cutover). When
// the engine ends it tidies up: after cutover the old chain is closed and the source LV released
// (unless --keep-source); after an abort or a failure the vv goes back to its source chain.

import type { MoveInfo } from '../../shared/rpc/moves.js';
import type { BlockBackend } from '../backend/block-backend.js';
import type { Logger } from '../log.js';
import type { PoolService } from '../pools/pool-service.js';
import type { EventBus } from '../rpc/event-bus.js';
import type { VolumeManager } from '../volumes/volume-manager.js';
import { CopyEngine, type MoveOutcome } from './copy-engine.js';
import type { CutoverHook } from './copy-options.js';
import { DirtyMap } from './dirty-map.js';
import type { MoveJournal } from './move-journal.js';
import type { MoveProgress } from './move-types.js';
import type { TargetLane } from './target-link.js';

export interface MoveSessionDeps {
  volumes: VolumeManager;
  pools: PoolService;
  events: EventBus;
  log: Logger;
}

export interface SessionTarget {
  /** The opened target, or null when it cannot be reached now (the move starts degraded). */
  backend: BlockBackend | null;
  reopen(lane?: TargetLane): Promise<BlockBackend>;
  /** The PSK key a remote target needs in the vv's mapping after cutover. */
  pskKey?: Buffer;
}

export class MoveSession {
  readonly engine: CopyEngine;
  private running: Promise<MoveOutcome> | null = null;
  /** The vv serves the target through a chain of its own; the move's connections can be closed. */
  private targetReplaced = false;
  private readonly log: Logger;

  private constructor(
    readonly journal: MoveJournal,
    private readonly source: BlockBackend,
    private readonly target: SessionTarget,
    private readonly deps: MoveSessionDeps,
    resume: boolean,
  ) {
    const r = journal.record;
    this.log = deps.log.child(r.id);
    this.engine = new CopyEngine({
      id: r.id,
      vv: r.vv,
      source,
      target: target.backend,
      chunkSize: r.options.chunkSize,
      parallel: r.options.parallel,
      throttle: r.options.throttle,
      busyThrottle: r.options.busyThrottle,
      verify: r.options.verify,
      targetReadsZero: r.options.targetReadsZero,
      // A local LV's extents are found by reading it; a remote one's come from NBD block status.
      sourceExtents: r.source.kind === 'remote',
      // Mirrored host writes get their own connection to a remote target (no queue behind copy data).
      mirrorLane: r.target.kind === 'remote',
      hostsLastSeenAt: deps.volumes.virtualVolume(r.vv).lastRequestAt,
      checkpoint: resume ? r.checkpoint : undefined,
      persist: (c) => journal.saveCheckpoint(c),
      reopenTarget: (lane) => target.reopen(lane),
      cutover: this.cutover,
      publish: (p) => this.publish(p),
      logger: this.log,
    });
  }

  /** Resolves when the move has ended and the session has tidied up. */
  get finished(): Promise<MoveOutcome> {
    return this.running ?? Promise.reject(new Error('move session not launched'));
  }

  /**
   * Puts the move's mirror in the vv's chain (in place of `source`, its current chain), then starts
   * copying: never before, or host writes behind the cursor would miss the target. Call under the
   * vv's mapping lock. `resume`: the journal's checkpoint is where the move left off.
   */
  static async launch(
    journal: MoveJournal,
    source: BlockBackend,
    target: SessionTarget,
    deps: MoveSessionDeps,
    resume: boolean,
  ): Promise<MoveSession> {
    const vv = deps.volumes.virtualVolume(journal.record.vv);
    const session = new MoveSession(journal, source, target, deps, resume);
    await vv.withHold(() => {
      vv.swapChain(session.engine.mirror);
    });
    session.running = session.run();
    session.running.catch(() => {});
    return session;
  }

  info(): MoveInfo {
    const { id, vv, epoch, options } = this.journal.record;
    const { id: _id, vv: _vv, ...progress } = this.engine.progress();
    return {
      ...describeRecord(this.journal),
      ...progress,
      id,
      volume: vv,
      epoch,
      options: publicOptions(options),
    };
  }

  private async run(): Promise<MoveOutcome> {
    const outcome = await this.engine.start();
    const { vv } = this.journal.record;
    try {
      if (outcome.phase === 'done') await this.afterCutover();
      else if (outcome.phase !== 'stopped') await this.restoreSource();
    } catch (err) {
      this.log.error(`tidying up after the move of ${vv}: ${(err as Error).message}`);
    }
    return outcome;
  }

  /** The volume layer's half of the cutover (see CutoverHook). */
  private readonly cutover: CutoverHook = ({ target, prepareSwitch }) => {
    const { vv, target: mapping, epoch } = this.journal.record;
    return this.deps.volumes.withMappingLock(vv, async () => {
      const volume = this.deps.volumes.virtualVolume(vv);
      // A remote target serves the vv through an ordinary remote chain (requests wait out a dropped
      // link), not through the move's fail-fast connection; it is opened before I/O is held.
      const chain =
        mapping.kind === 'remote'
          ? await this.deps.volumes.openChain(mapping, { pskKey: this.target.pskKey })
          : target;
      let switched = false;
      const started = performance.now();
      await volume.hold();
      try {
        if (!(await prepareSwitch())) return { switched, pauseMs: performance.now() - started };
        await this.deps.volumes.commitMapping(vv, mapping, {
          expectEpoch: epoch,
          pskKey: this.target.pskKey,
        });
        volume.swapChain(chain);
        switched = true;
        return { switched, pauseMs: performance.now() - started };
      } finally {
        volume.release();
        if (chain !== target) {
          // The move's own connections are done either way after a switch; a new chain not used is closed.
          if (switched) this.targetReplaced = true;
          else await chain.close().catch(() => {});
        }
      }
    });
  };

  private async afterCutover(): Promise<void> {
    const { source, options, vv } = this.journal.record;
    await this.source.close().catch(() => {});
    if (this.targetReplaced) await this.engine.link.closeAll();
    if (options.keepSource || source.kind !== 'local') return;
    await this.deps.pools.deleteLv(source.pool, source.lv);
    this.log.info(`source LV ${source.pool}/${source.lv} of ${vv} released to its pool`);
  }

  /** Abort or failure: the vv's chain is its source again; the target is closed, its content undefined. */
  private async restoreSource(): Promise<void> {
    const { vv } = this.journal.record;
    await this.deps.volumes.withMappingLock(vv, async () => {
      const volume = this.deps.volumes.find(vv);
      if (volume && volume.chain === this.engine.mirror) {
        await volume.withHold(() => {
          volume.swapChain(this.source);
        });
      }
    });
    await this.engine.link.closeAll();
  }

  private publish(p: MoveProgress): void {
    const { id, vv, ...progress } = p;
    this.deps.events.publish({ type: 'move.progress', move: id, volume: vv, ...progress });
  }
}

/** What a record says about a move that is not running (finished, or not resumed). */
export function describeRecord(journal: MoveJournal): MoveInfo {
  const r = journal.record;
  const c = r.checkpoint;
  const dirtyBytes = DirtyMap.deserialize(c.dirty, r.size).dirtyBytes;
  return {
    id: r.id,
    volume: r.vv,
    source: r.source,
    target: r.target,
    epoch: r.epoch,
    options: publicOptions(r.options),
    phase: c.phase,
    paused: c.paused,
    hostsFirst: false,
    copiedBytes: c.phase === 'done' ? r.size : c.cursor,
    totalBytes: r.size,
    verifiedBytes: r.options.verify ? c.verifyCursor : 0,
    bytesPerSecond: 0,
    etaSeconds: null,
    mirroredWrites: c.mirroredWrites,
    dirtyBytes,
    mismatches: c.mismatches,
    cutoverPauseMs: c.cutoverPauseMs,
    ...(c.error ? { error: c.error } : {}),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
  };
}

function publicOptions(o: MoveJournal['record']['options']): MoveInfo['options'] {
  return {
    chunkSize: o.chunkSize,
    throttle: o.throttle,
    busyThrottle: o.busyThrottle,
    verify: o.verify,
    keepSource: o.keepSource,
  };
}
