// The agent's moves: starts them (one per vv, fenced by the vv's epoch), controls them (pause,
// resume, abort), lists them, and at agent start resumes every move its journal left unfinished,
// before the NBD server takes host I/O (so no host write can miss the mirror).
//
// Lock order: a vv's mapping lock (VolumeManager.withMappingLock), then the move's journal writes.

import { randomBytes } from 'node:crypto';
import { FerryError } from '../../shared/errors.js';
import { describeMapping, type Mapping } from '../../shared/rpc/common.js';
import type { MoveInfo, MoveTarget } from '../../shared/rpc/moves.js';
import type { BlockBackend } from '../backend/block-backend.js';
import type { Logger } from '../log.js';
import type { PoolService } from '../pools/pool-service.js';
import type { EventBus } from '../rpc/event-bus.js';
import type { StateStore } from '../state/state-store.js';
import type { RemoteOpener } from '../volumes/chain-factory.js';
import type { VolumeManager } from '../volumes/volume-manager.js';
import { DEFAULT_DIRTY_GRANULE } from './dirty-map.js';
import { initialCheckpoint, MOVE_DOCUMENT_PREFIX, MoveJournal, movePskSecretName } from './move-journal.js';
import { MoveRetention } from './move-retention.js';
import { describeRecord, MoveSession, type SessionTarget } from './move-session.js';
import {
  DEFAULT_BUSY_THROTTLE,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_PARALLEL_CHUNKS,
  isTerminalPhase,
} from './move-types.js';
import type { TargetLane } from './target-link.js';

export interface MoveManagerDeps {
  volumes: VolumeManager;
  pools: PoolService;
  store: StateStore;
  events: EventBus;
  log: Logger;
  /** Opens a remote target; should fail fast while the link is down (a move's mirror must not wait). */
  openRemote: RemoteOpener;
  /** At agent start, how long to wait for a move's target before resuming degraded (default 5 s). */
  resumeTargetTimeoutMs?: number;
  /** How long remote requests may wait for a dead link (default 60 s; failFast makes it moot). */
  remoteTimeoutMs?: number;
}

export interface MoveStartRequest {
  volume: string;
  target: MoveTarget;
  chunkSize?: number;
  throttle?: number;
  busyThrottle?: number;
  verify?: boolean;
  keepSource?: boolean;
  expectEpoch?: number;
}

export class MoveManager {
  private readonly sessions = new Map<string, MoveSession>();
  private readonly ended = new Map<string, MoveJournal>();
  /** Moves stopped by agent shutdown: their target connections close after the volumes. */
  private readonly stopped: MoveSession[] = [];
  /** What ended moves leave behind (PSK keys, old journals): see move-retention.ts. */
  private readonly retention: MoveRetention;

  constructor(private readonly deps: MoveManagerDeps) {
    this.retention = new MoveRetention({ store: deps.store, log: deps.log });
    deps.pools.addDeleteGuard((pool, lv) => {
      // A move that has cut over no longer needs its source (it releases it itself).
      const user = [...this.sessions.values()].find(
        ({ journal: { record: r }, engine }) =>
          engine.currentPhase !== 'done' &&
          [r.source, r.target].some((m) => m.kind === 'local' && m.pool === pool && m.lv === lv),
      );
      return user ? `move ${user.journal.record.id} of volume ${user.journal.record.vv} uses it` : undefined;
    });
  }

  async start(req: MoveStartRequest): Promise<MoveInfo> {
    const { volumes } = this.deps;
    return volumes.withMappingLock(req.volume, async () => {
      const record = volumes.assertEpoch(req.volume, req.expectEpoch);
      const busy = this.activeFor(req.volume);
      if (busy) {
        throw new FerryError(
          'ERR_VOLUME_BUSY',
          `volume ${req.volume} is already moving (move ${busy.journal.record.id})`,
          {
            volume: req.volume,
            move: busy.journal.record.id,
          },
        );
      }
      const vv = volumes.virtualVolume(req.volume);
      const targetMapping: Mapping =
        req.target.kind === 'local'
          ? { kind: 'local', pool: req.target.pool, lv: req.target.lv }
          : { kind: 'remote', url: req.target.url, pskIdentity: req.target.pskIdentity };
      if (describeMapping(targetMapping) === describeMapping(record.mapping)) {
        throw new FerryError(
          'ERR_INVALID_ARGUMENT',
          `volume ${req.volume} is already on ${describeMapping(targetMapping)}`,
        );
      }
      const id = `m-${randomBytes(4).toString('hex')}`;
      const opened = await this.openNewTarget(id, req.target, record.size);
      let journal: MoveJournal | undefined;
      try {
        checkTargetSize(req.volume, record.size, opened.target.backend, targetMapping);
        journal = await MoveJournal.create(this.deps.store, {
          id,
          vv: req.volume,
          source: record.mapping,
          target: targetMapping,
          options: {
            chunkSize: req.chunkSize ?? DEFAULT_CHUNK_SIZE,
            parallel: DEFAULT_PARALLEL_CHUNKS,
            throttle: req.throttle ? req.throttle : null,
            busyThrottle: req.busyThrottle === undefined ? DEFAULT_BUSY_THROTTLE : req.busyThrottle || null,
            verify: req.verify ?? false,
            keepSource: req.keepSource ?? false,
            targetReadsZero: opened.fresh,
          },
          epoch: record.epoch,
          size: record.size,
          checkpoint: initialCheckpoint(record.size, DEFAULT_DIRTY_GRANULE),
        });
        const session = await MoveSession.launch(journal, vv.chain, opened.target, this.sessionDeps(), false);
        this.track(session);
        this.deps.log.info(
          `move ${id}: ${req.volume} from ${describeMapping(record.mapping)} to ${describeMapping(targetMapping)}`,
        );
        return session.info();
      } catch (err) {
        await opened.target.backend?.close().catch(() => {});
        await opened.undo();
        const error = (err as Error).message;
        await journal
          ?.saveCheckpoint({ ...journal.record.checkpoint, phase: 'failed', error })
          .catch(() => {});
        if (journal) {
          this.ended.set(id, journal);
          this.retire(journal);
        }
        throw err;
      }
    });
  }

  list(): MoveInfo[] {
    const running = [...this.sessions.values()].map((s) => s.info());
    const done = [...this.ended.values()].map((j) => describeRecord(j));
    return [...running, ...done].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  status(id: string): MoveInfo {
    const session = this.sessions.get(id);
    if (session) return session.info();
    const journal = this.ended.get(id);
    if (journal) return describeRecord(journal);
    throw new FerryError('ERR_NOT_FOUND', `move ${id} does not exist`, { move: id });
  }

  pause(id: string, expectEpoch?: number): MoveInfo {
    const session = this.running(id, expectEpoch, 'pause');
    session.engine.pause();
    return session.info();
  }

  resume(id: string, expectEpoch?: number): MoveInfo {
    const session = this.running(id, expectEpoch, 'resume');
    session.engine.resume();
    return session.info();
  }

  /** Changes the copy throttle and/or the busy-hosts cap (0: none); durable, so a resumed move keeps them. */
  async setThrottle(
    id: string,
    rates: { throttle?: number; busyThrottle?: number },
    expectEpoch?: number,
  ): Promise<MoveInfo> {
    const session = this.running(id, expectEpoch, 'throttle');
    const options = { ...session.journal.record.options };
    if (rates.throttle !== undefined) {
      options.throttle = rates.throttle > 0 ? rates.throttle : null;
      session.engine.setThrottle(options.throttle);
    }
    if (rates.busyThrottle !== undefined) {
      options.busyThrottle = rates.busyThrottle > 0 ? rates.busyThrottle : null;
      session.engine.setBusyThrottle(options.busyThrottle);
    }
    await session.journal.update({ options });
    return session.info();
  }

  /** Aborts before cutover: the vv stays on its source, unchanged. */
  async abort(id: string, expectEpoch?: number): Promise<MoveInfo> {
    const session = this.running(id, expectEpoch, 'abort');
    await session.engine.abort();
    await session.finished;
    return this.status(id);
  }

  /** Resumes every unfinished move of the journal. Call after the volumes are open, before NBD serves. */
  async resumeAll(): Promise<void> {
    await this.retention.forgetOrphanSecrets();
    for (const doc of await this.deps.store.list(MOVE_DOCUMENT_PREFIX)) {
      const id = doc.slice(MOVE_DOCUMENT_PREFIX.length);
      try {
        const journal = await MoveJournal.load(this.deps.store, id);
        if (journal) await this.resumeOne(journal);
      } catch (err) {
        this.deps.log.error(`move ${id} not resumed: ${(err as Error).message}`);
      }
    }
    // Keys of ended moves an older agent (or a crash) left behind go; then old history is pruned.
    await Promise.all([...this.ended.values()].map((j) => this.retention.forgetSecret(j.record)));
    await this.pruneEnded();
  }

  /** Agent shutdown: stops every move where it is; the next start resumes them. */
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((s) => s.engine.stop()));
  }

  /**
   * Agent shutdown, once the volumes are closed (no host write can need a mirror any more): closes
   * the target connections of the stopped moves, whose sockets would keep the process alive.
   */
  async closeStoppedTargets(): Promise<void> {
    const stopped = this.stopped.splice(0);
    await Promise.allSettled(stopped.map((s) => s.engine.link.closeAll()));
  }

  private async resumeOne(journal: MoveJournal): Promise<void> {
    const r = journal.record;
    if (isTerminalPhase(r.checkpoint.phase)) {
      this.ended.set(r.id, journal);
      return;
    }
    const { volumes } = this.deps;
    await volumes.withMappingLock(r.vv, async () => {
      const record = volumes.record(r.vv);
      if (record.epoch === r.epoch + 1 && describeMapping(record.mapping) === describeMapping(r.target)) {
        // The mapping was switched and made durable; the agent died before the journal said so.
        await journal.saveCheckpoint({ ...r.checkpoint, phase: 'done' });
        this.ended.set(r.id, journal);
        return;
      }
      if (record.epoch !== r.epoch) {
        const error = `volume ${r.vv} changed to epoch ${record.epoch} while the move (epoch ${r.epoch}) was stopped`;
        await journal.saveCheckpoint({ ...r.checkpoint, phase: 'failed', error });
        this.ended.set(r.id, journal);
        return;
      }
      const vv = volumes.virtualVolume(r.vv);
      const target = await this.reopenTarget(r.id, r.target, r.size);
      const session = await MoveSession.launch(journal, vv.chain, target, this.sessionDeps(), true);
      this.track(session);
      this.deps.log.info(`move ${r.id} of ${r.vv} resumed at ${r.checkpoint.cursor} (${r.checkpoint.phase})`);
    });
  }

  /** Opens (creating a local LV if needed) the target of a new move. */
  private async openNewTarget(
    id: string,
    target: MoveTarget,
    size: number,
  ): Promise<{ target: SessionTarget; fresh: boolean; undo(): Promise<void> }> {
    if (target.kind === 'remote') {
      const pskKey = Buffer.from(target.pskKey, 'hex');
      await this.deps.store.writeSecret(movePskSecretName(id), pskKey);
      const opener = this.remoteOpener(target.url, target.pskIdentity, pskKey);
      const backend = await opener().catch(async (err) => {
        await this.deps.store.removeSecret(movePskSecretName(id));
        throw err;
      });
      return {
        target: { backend, reopen: opener, pskKey },
        fresh: target.readsAsZero === true,
        undo: () => this.deps.store.removeSecret(movePskSecretName(id)),
      };
    }
    const { pools, volumes } = this.deps;
    const user = volumes
      .list()
      .find(
        (v) => v.mapping.kind === 'local' && v.mapping.pool === target.pool && v.mapping.lv === target.lv,
      );
    if (user)
      throw new FerryError(
        'ERR_VOLUME_BUSY',
        `LV ${target.pool}/${target.lv} is mapped by volume ${user.name}`,
      );
    let created = false;
    let fresh = target.readsAsZero === true;
    if (!pools.lookupLv(target.pool, target.lv)) {
      fresh = (await pools.createLv(target.pool, target.lv, size)).readsAsZero;
      created = true;
    }
    const mapping: Mapping = { kind: 'local', pool: target.pool, lv: target.lv };
    const undo = async () => {
      if (created) await pools.deleteLv(target.pool, target.lv).catch(() => {});
    };
    try {
      const backend = await volumes.openChain(mapping);
      return { target: { backend, reopen: () => volumes.openChain(mapping) }, fresh, undo };
    } catch (err) {
      await undo();
      throw err;
    }
  }

  /** A resumed move's target: opened if it answers soon, else the move starts degraded. */
  private async reopenTarget(id: string, target: Mapping, size: number): Promise<SessionTarget> {
    let reopen: () => Promise<BlockBackend>;
    let pskKey: Buffer | undefined;
    if (target.kind === 'remote') {
      pskKey = await this.deps.store.readSecret(movePskSecretName(id));
      if (!pskKey) throw new FerryError('ERR_TLS', `the PSK key of move ${id} is missing from the state dir`);
      reopen = this.remoteOpener(target.url, target.pskIdentity, pskKey);
    } else {
      reopen = () => this.deps.volumes.openChain(target);
    }
    const attempt = reopen();
    const timeout = new Promise<null>((resolve) =>
      setTimeout(resolve, this.deps.resumeTargetTimeoutMs ?? 5000, null),
    );
    const backend = await Promise.race([attempt.catch(() => null), timeout]);
    if (!backend) {
      attempt.then((late) => late.close()).catch(() => {});
      this.deps.log.warn(`move ${id}: target not reachable yet (${size} bytes needed); resuming degraded`);
    }
    return { backend, reopen, pskKey };
  }

  private remoteOpener(
    url: string,
    pskIdentity: string,
    pskKey: Buffer,
  ): (lane?: TargetLane) => Promise<BlockBackend> {
    return (lane = 'copy') =>
      this.deps.openRemote({
        url,
        pskIdentity,
        pskKey,
        timeoutMs: this.deps.remoteTimeoutMs ?? 60_000,
        lane,
      });
  }

  private running(id: string, expectEpoch: number | undefined, action: string): MoveSession {
    const session = this.sessions.get(id);
    if (!session) {
      if (this.ended.has(id)) {
        const phase = this.ended.get(id)!.phase;
        throw new FerryError('ERR_MOVE_STATE', `cannot ${action} move ${id}: it has ended (${phase})`, {
          move: id,
          phase,
        });
      }
      throw new FerryError('ERR_NOT_FOUND', `move ${id} does not exist`, { move: id });
    }
    this.deps.volumes.assertEpoch(session.journal.record.vv, expectEpoch);
    return session;
  }

  private activeFor(volume: string): MoveSession | undefined {
    return [...this.sessions.values()].find((s) => s.journal.record.vv === volume);
  }

  private track(session: MoveSession): void {
    const id = session.journal.record.id;
    this.sessions.set(id, session);
    session.finished.then(
      (outcome) => {
        this.sessions.delete(id);
        this.deps.log.info(`move ${id}: ${outcome.phase}${outcome.error ? ` (${outcome.error})` : ''}`);
        // A stopped move (agent shutdown) has not ended: it resumes at the next start, with its key.
        if (outcome.phase === 'stopped') this.stopped.push(session);
        else {
          this.ended.set(id, session.journal);
          this.retire(session.journal);
        }
      },
      () => this.sessions.delete(id),
    );
  }

  /** A move ended: its PSK key goes at once, then old history is pruned. Never fails the move. */
  private retire(journal: MoveJournal): void {
    void this.retention.forgetSecret(journal.record).then(() => this.pruneEnded());
  }

  private async pruneEnded(): Promise<void> {
    for (const id of await this.retention.prune(this.ended.values())) this.ended.delete(id);
  }

  private sessionDeps() {
    const { volumes, pools, events, log } = this.deps;
    return { volumes, pools, events, log };
  }
}

function checkTargetSize(volume: string, size: number, target: BlockBackend | null, mapping: Mapping): void {
  const have = target?.size() ?? size;
  if (have < size) {
    throw new FerryError(
      'ERR_TARGET_TOO_SMALL',
      `target ${describeMapping(mapping)} has ${have} bytes but volume ${volume} has ${size}: use a target at least as large`,
      { targetSize: have, volumeSize: size },
    );
  }
}
