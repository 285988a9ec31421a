// Orchestrated moves: preflight, target LV, a fresh TLS-PSK key, the target exported to the front
// agent, the move started there, progress followed, the new mapping committed in the store, the
// source released or kept. Every step is journaled in the store, and the agents are the truth: a
// console that died mid-move and starts again asks the front agent and finishes the bookkeeping.
import { randomBytes } from 'node:crypto';
import type { Move, Preflight } from '../../../shared/bridge/model.js';
import { FerryError, toFerryError } from '../../../shared/errors.js';
import { lvCreate, lvDelete } from '../../../shared/rpc/lvs.js';
import {
  lvExport,
  lvUnexport,
  type MoveInfo,
  type MoveProgressEvent,
  type MoveTarget,
  moveAbort,
  moveList,
  movePause,
  moveResume,
  moveStart,
  moveStatus,
} from '../../../shared/rpc/moves.js';
import type { Appliance } from '../store/repo-appliances.js';
import { type Move as StoredMove, TERMINAL_MOVE_PHASES } from '../store/repo-moves.js';
import type { Store } from '../store/store.js';
import type { ApplianceLinks } from './appliance-links.js';
import { lvExportName } from './inventory-sync.js';
import { type MoveRequest, preflightMove } from './move-preflight.js';

export interface StartMoveParams extends MoveRequest {
  throttleBps: number | null;
  /** The copy's limit while hosts use the volume: undefined for the agent's default, 0 for none. */
  busyThrottleBps?: number;
  verify: boolean;
  keepSource: boolean;
}

type ProgressListener = (move: Move) => void;

/** The address peers reach an appliance's NBD server on (a wildcard listen means its SSH host). */
export function nbdAddressOf(appliance: Appliance): string {
  const m = /^(.*):(\d+)$/.exec(appliance.nbdListen);
  if (!m) return appliance.nbdListen;
  const host = m[1] === '0.0.0.0' || m[1] === '[::]' || m[1] === '::' ? appliance.host : m[1];
  return `${host}:${m[2]}`;
}

export class MoveOrchestrator {
  private readonly live = new Map<string, MoveInfo>();
  private readonly listeners = new Set<ProgressListener>();
  private readonly following = new Map<string, Promise<Move>>();

  constructor(
    private readonly store: Store,
    private readonly links: ApplianceLinks,
    private readonly onInventoryChanged: (appliances: string[]) => Promise<void>,
  ) {}

  onProgress(listener: ProgressListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  preflight(req: MoveRequest): Promise<Preflight> {
    return preflightMove(this.store, this.links, req).then(({ targetLv: _lv, ...rest }) => rest);
  }

  async start(params: StartMoveParams): Promise<Move> {
    const pre = await preflightMove(this.store, this.links, params);
    if (!pre.ok) {
      const failed = pre.checks.filter((c) => !c.ok);
      throw new FerryError(
        failed.some((c) => c.id === 'space')
          ? 'ERR_NO_SPACE'
          : failed.some((c) => c.id === 'busy')
            ? 'ERR_VOLUME_BUSY'
            : 'ERR_INVALID_ARGUMENT',
        `cannot move ${params.volume}: ${failed.map((c) => c.message).join('; ')}`,
        { checks: pre.checks },
      );
    }
    const volume = this.store.volumes.require(params.volume);
    const front = this.store.appliances.getById(volume.frontApplianceId!)!;
    const target = this.store.appliances.require(params.to.appliance);
    const to = { appliance: target.name, pool: params.to.pool, lv: pre.targetLv };
    const stored = this.store.moves.create({
      vvUuid: volume.uuid,
      from: volume.mapping,
      to,
      options: {
        throttleBytesPerSec: params.throttleBps ?? undefined,
        busyThrottleBytesPerSec: params.busyThrottleBps,
        verify: params.verify,
        keepSource: params.keepSource,
        epochBefore: volume.epoch,
      },
    });
    this.store.moves.setPhase(stored.id, 'preparing');
    const targetLink = await this.links.get(target.name);
    let created = false;
    try {
      const lv = await targetLink.call(lvCreate, { pool: to.pool, name: to.lv, size: volume.sizeBytes });
      created = true;
      // Nothing but this move writes the new LV (a remote one is exported under this move's own key).
      const readsAsZero = lv.readsAsZero === true;
      let destination: MoveTarget;
      if (target.id === front.id) {
        destination = { kind: 'local', pool: to.pool, lv: to.lv, readsAsZero };
      } else {
        const pskIdentity = `ferry-move-${stored.id.slice(0, 8)}`;
        const pskKey = randomBytes(32).toString('hex');
        await targetLink.call(lvExport, { pool: to.pool, name: to.lv, pskIdentity, pskKey });
        destination = {
          kind: 'remote',
          url: `nbds://${nbdAddressOf(target)}/${lvExportName(to.pool, to.lv)}`,
          pskIdentity,
          pskKey,
          readsAsZero,
        };
      }
      const frontLink = await this.links.get(front.name);
      const info = await frontLink.call(moveStart, {
        volume: volume.name,
        target: destination,
        ...(params.throttleBps ? { throttle: params.throttleBps } : {}),
        ...(params.busyThrottleBps !== undefined ? { busyThrottle: params.busyThrottleBps } : {}),
        verify: params.verify,
        keepSource: params.keepSource,
        expectEpoch: volume.epoch,
      });
      this.store.moves.setAgentMoveId(stored.id, info.id);
      this.store.moves.setPhase(stored.id, info.phase === 'degraded' ? 'degraded' : 'copying', {
        agentMoveId: info.id,
      });
      this.live.set(stored.id, info);
      void this.onInventoryChanged([]).catch(() => {});
      return this.view(this.store.moves.require(stored.id));
    } catch (err) {
      const error = toFerryError(err);
      this.store.moves.fail(stored.id, { code: error.code, message: error.message });
      if (created) await this.releaseLv(target.name, to.pool, to.lv);
      throw error;
    }
  }

  list(): Move[] {
    return this.store.moves
      .list()
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))
      .map((m) => this.view(m));
  }

  get(id: string): Move {
    return this.view(this.requireMove(id));
  }

  async pause(id: string): Promise<Move> {
    return this.control(id, movePause);
  }

  async resume(id: string): Promise<Move> {
    return this.control(id, moveResume);
  }

  async abort(id: string): Promise<Move> {
    const move = await this.control(id, moveAbort);
    return this.isTerminal(move.phase) ? move : this.follow(id);
  }

  private async control(id: string, method: typeof movePause): Promise<Move> {
    const move = this.requireMove(id);
    if (TERMINAL_MOVE_PHASES.includes(move.phase)) {
      throw new FerryError('ERR_MOVE_STATE', `move ${id} has ended (${move.phase})`);
    }
    if (!move.agentMoveId)
      throw new FerryError('ERR_MOVE_STATE', `move ${id} has not started on its agent yet`);
    const link = await this.links.get(this.frontOf(move).name);
    const info = await link.call(method, { id: move.agentMoveId });
    return this.view(this.apply(move, info));
  }

  /** Follows a move until it ends; finishes its bookkeeping; resolves with its final state. */
  follow(id: string, onProgress?: ProgressListener): Promise<Move> {
    const unlisten = onProgress ? this.onProgress((m) => m.id === id && onProgress(m)) : () => {};
    let following = this.following.get(id);
    if (!following) {
      following = this.followLoop(id).finally(() => this.following.delete(id));
      this.following.set(id, following);
    }
    return following.finally(unlisten);
  }

  private async followLoop(id: string): Promise<Move> {
    let move = this.requireMove(id);
    let unsubscribe: (() => void) | null = null;
    let wake: (() => void) | null = null;
    while (!TERMINAL_MOVE_PHASES.includes(move.phase)) {
      try {
        const link = await this.links.get(this.frontOf(move).name);
        if (!unsubscribe) {
          const off = link.onEvent((event) => {
            if (event.type !== 'move.progress') return;
            const progress = event as unknown as MoveProgressEvent;
            const known = this.live.get(move.id);
            if (progress.move !== move.agentMoveId || !known) return;
            const { type: _type, move: _id, volume: _volume, ...fields } = progress;
            move = this.apply(move, { ...known, ...fields });
            if (this.isTerminal(progress.phase)) wake?.();
          });
          const offClose = link.onClose(() => {
            unsubscribe?.();
            unsubscribe = null;
            wake?.();
          });
          unsubscribe = () => {
            off();
            offClose();
          };
          await link.subscribe();
        }
        // Events carry the progress; a status poll now and then covers anything missed.
        if (move.agentMoveId) move = this.apply(move, await link.call(moveStatus, { id: move.agentMoveId }));
      } catch (err) {
        const error = toFerryError(err);
        if (error.code === 'ERR_NOT_FOUND') {
          move = this.store.moves.fail(id, {
            code: error.code,
            message: `the agent no longer knows this move: ${error.message}`,
          });
          break;
        }
        // The front agent is unreachable (restarting?): keep trying; the move runs on without us.
      }
      if (TERMINAL_MOVE_PHASES.includes(move.phase)) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 1000);
      });
      move = this.requireMove(id);
    }
    (unsubscribe as (() => void) | null)?.();
    return this.view(move);
  }

  /** Brings every unfinished move up to date from its agent (console restarted mid-move). */
  async reconcile(): Promise<void> {
    for (const move of this.store.moves.list({ active: true })) {
      if (TERMINAL_MOVE_PHASES.includes(move.phase) || !move.agentMoveId) continue;
      try {
        const link = await this.links.get(this.frontOf(move).name);
        const { moves } = await link.call(moveList, {});
        const info = moves.find((m) => m.id === move.agentMoveId);
        if (info) this.apply(move, info);
        else
          this.store.moves.fail(move.id, {
            code: 'ERR_NOT_FOUND',
            message: 'the front agent no longer knows this move',
          });
      } catch {
        // offline: it stays as last known
      }
    }
  }

  private isTerminal(phase: string): boolean {
    return phase === 'done' || phase === 'aborted' || phase === 'failed';
  }

  /** Records what the agent reports; at the end, commits the mapping and releases what is left over. */
  private apply(move: StoredMove, info: MoveInfo): StoredMove {
    this.live.set(move.id, info);
    let current = this.store.moves.require(move.id);
    if (!TERMINAL_MOVE_PHASES.includes(current.phase)) {
      if (info.phase === 'done') {
        current = this.finish(current, info);
      } else if (info.phase === 'aborted' || info.phase === 'failed') {
        current = this.store.moves.setPhase(
          move.id,
          info.phase,
          { agent: info.phase },
          info.error ? { code: 'ERR_IO', message: info.error } : undefined,
        );
        const target = current.to;
        // The volume is ready where it was: say so at once, then again once the target LV is gone.
        void this.onInventoryChanged([]).catch(() => {});
        void this.releaseLv(target.appliance, target.pool, target.lv).then(() =>
          this.onInventoryChanged([target.appliance]).catch(() => {}),
        );
      } else if (info.phase !== current.phase) {
        current = this.store.moves.setPhase(move.id, info.phase, {});
      }
    }
    const view = this.view(current);
    for (const listener of this.listeners) listener(view);
    return current;
  }

  private finish(move: StoredMove, info: MoveInfo): StoredMove {
    const volume = this.store.volumes.get(move.vvUuid);
    const epochAfter = info.epoch + 1;
    if (volume && volume.epoch < epochAfter) {
      this.store.volumes.commitMapping(volume.uuid, volume.epoch, epochAfter, move.to);
    }
    const source = this.store.appliances.get(move.from.appliance);
    const target = this.store.appliances.get(move.to.appliance);
    const seconds = info.finishedAt ? (Date.parse(info.finishedAt) - Date.parse(info.createdAt)) / 1000 : 0;
    if (source && target && seconds > 0.2)
      this.store.throughput.record(source.id, target.id, info.totalBytes / seconds);
    const done = this.store.moves.setPhase(move.id, 'done', {
      epochAfter,
      cutoverPauseMs: info.cutoverPauseMs,
    });
    // The front released a local source itself; a source on another appliance is released there.
    const front = this.frontOf(move);
    if (!info.options.keepSource && move.from.appliance !== front.name) {
      void this.releaseLv(move.from.appliance, move.from.pool, move.from.lv);
    }
    void this.onInventoryChanged([...new Set([front.name, move.from.appliance, move.to.appliance])]).catch(
      () => {},
    );
    return done;
  }

  private async releaseLv(appliance: string, pool: string, lv: string): Promise<void> {
    try {
      const link = await this.links.get(appliance);
      await link.call(lvUnexport, { pool, name: lv }).catch(() => {});
      await link.call(lvDelete, { pool, name: lv });
    } catch (err) {
      this.store.audit.record('lv.release-failed', `${appliance}/${pool}/${lv}`, {
        error: toFerryError(err).message,
      });
    }
  }

  private frontOf(move: StoredMove): Appliance {
    const volume = this.store.volumes.get(move.vvUuid);
    const front = volume?.frontApplianceId
      ? this.store.appliances.getById(volume.frontApplianceId)
      : undefined;
    if (!front)
      throw new FerryError(
        'ERR_NOT_FOUND',
        `the appliance serving the volume of move ${move.id} is not in the store`,
      );
    return front;
  }

  private requireMove(id: string): StoredMove {
    const found =
      this.store.moves.get(id) ?? this.store.moves.list().find((m) => m.id.startsWith(id) && id.length >= 6);
    if (!found) throw new FerryError('ERR_NOT_FOUND', `no move ${id}: ferry moves lists them`);
    return found;
  }

  view(move: StoredMove): Move {
    const info = this.live.get(move.id);
    const volume = this.store.volumes.get(move.vvUuid);
    const total = info?.totalBytes ?? volume?.sizeBytes ?? 0;
    const verifying = info?.phase === 'verifying';
    const done = verifying ? (info?.verifiedBytes ?? 0) : (info?.copiedBytes ?? 0);
    const phase =
      move.phase === 'created' || move.phase === 'preflight' || move.phase === 'preparing'
        ? 'preparing'
        : move.phase === 'paused'
          ? 'copying'
          : move.phase === 'committing'
            ? 'cutover'
            : move.phase;
    return {
      id: move.id,
      volume: volume?.name ?? move.vvUuid,
      from: { appliance: move.from.appliance, pool: move.from.pool },
      to: { appliance: move.to.appliance, pool: move.to.pool },
      phase,
      paused: info?.paused ?? false,
      hostsFirst: move.phase !== 'done' && (info?.hostsFirst ?? false),
      percent: move.phase === 'done' ? 100 : total > 0 ? Math.min(100, (done / total) * 100) : 0,
      bytesDone: move.phase === 'done' ? total : done,
      bytesTotal: total,
      rateBps: info?.bytesPerSecond ?? 0,
      etaSeconds: info?.etaSeconds ?? null,
      mirroredWrites: info?.mirroredWrites ?? 0,
      cutoverPauseMs: info?.cutoverPauseMs ?? null,
      options: {
        throttleBps: move.options.throttleBytesPerSec ?? null,
        verify: move.options.verify === true,
        keepSource: move.options.keepSource === true,
      },
      startedAt: move.startedAt ?? move.createdAt,
      endedAt: move.finishedAt,
      error: move.error,
    };
  }
}
