// One move's engine: it walks the source in chunks (several in flight) and copies them to the target
// while the mirror stage it provides keeps the target up to date behind the cursor; it survives a
// failing target (degraded, retry with backoff, copy the dirty regions again), optionally verifies,
// and cuts over through the volume layer's hook when the cursor is at the end and nothing is dirty.
// It checkpoints durably so a restarted agent resumes where it stopped.
//
// The state machine: copying -> [verifying] -> cutover -> done; degraded while the target is down;
// aborted or failed end it. Lock order: chunk lock (range-lock.ts) before any request to the target;
// the engine holds at most one chunk lock per worker and never waits for a lock while holding one.

import { FerryError } from '../../shared/errors.js';
import { type MirrorCoordinator, MirrorStage } from '../backend/mirror-stage.js';
import { createLogger, type Logger } from '../log.js';
import { Checkpointer } from './checkpointer.js';
import { BUSY_COPY_PIECE, type CopyTarget, QUIET_COPY_PIECE, zeroRange } from './chunk-copier.js';
import { CopyFrontier } from './copy-frontier.js';
import { type CopyEngineOptions, type ResolvedCopyOptions, resolveCopyOptions } from './copy-options.js';
import { catchUpPass, copyPass, type PassContext, verifyPass } from './copy-passes.js';
import { attemptCutover } from './cutover-step.js';
import { type ByteRange, DEFAULT_DIRTY_GRANULE, DirtyMap } from './dirty-map.js';
import { HostActivity } from './host-activity.js';
import { isTerminalPhase, type MoveCheckpoint, type MovePhase, type MoveProgress } from './move-types.js';
import { PauseGate } from './pause-gate.js';
import { ProgressReporter } from './progress-reporter.js';
import { ChunkLocks } from './range-lock.js';
import { TargetLink } from './target-link.js';
import { openMirrorLane, reconnectTarget } from './target-recovery.js';
import { type CopyRate, CopyThrottle } from './throttle.js';
import { WriteIntentLog } from './write-intent.js';

export interface MoveOutcome {
  /** stopped: the agent is shutting down; the journal keeps the phase and a restart resumes. */
  phase: 'done' | 'aborted' | 'failed' | 'stopped';
  error?: string;
  cutoverPauseMs: number | null;
}

export class CopyEngine implements MirrorCoordinator {
  readonly locks: ChunkLocks;
  readonly link: TargetLink;
  /** Put this in the vv's chain (in place of the source) before start(). */
  readonly mirror: MirrorStage;
  private readonly opts: ResolvedCopyOptions;
  private readonly log: Logger;
  private readonly size: number;
  private readonly frontier: CopyFrontier;
  private readonly verifyFrontier: CopyFrontier;
  private readonly dirty: DirtyMap;
  private readonly intent: WriteIntentLog;
  private readonly throttle: CopyThrottle;
  private readonly hosts: HostActivity;
  private readonly checkpointer: Checkpointer<MoveCheckpoint>;
  private readonly reporter: ProgressReporter;
  private readonly stopper = new AbortController();
  private phase: MovePhase = 'copying';
  private readonly gateKeeper: PauseGate;
  /** The mirror writes to the target only while this holds (not after abort, failure or cutover). */
  private active = true;
  private abortRequested = false;
  private stopRequested = false;
  private fatal: Error | null = null;
  private targetReadsZero: boolean;
  private verified = false;
  private mirroredWrites = 0;
  private mismatches = 0;
  private cutoverPauseMs: number | null = null;
  private lastTargetFlush = performance.now();
  private running: Promise<MoveOutcome> | null = null;
  private started = false;
  /** The mirror lane being opened at start (settles, never rejects). */
  private mirrorLaneOpening: Promise<void> = Promise.resolve();

  constructor(options: CopyEngineOptions) {
    this.opts = resolveCopyOptions(options);
    const { chunkSize, checkpoint: cp } = this.opts;
    this.log = this.opts.logger ?? createLogger(`move ${this.opts.id}`);
    this.size = this.opts.source.size();
    // A dirty granule never spans two chunks, so clearing one after a chunk's copy is exact.
    const granule = Math.min(DirtyMap.granuleFor(this.size, DEFAULT_DIRTY_GRANULE), chunkSize);
    if (chunkSize % granule !== 0) throw new RangeError(`chunk ${chunkSize} is not a multiple of ${granule}`);
    this.locks = new ChunkLocks(chunkSize);
    this.frontier = new CopyFrontier(this.size, chunkSize, cp?.cursor ?? 0);
    this.verifyFrontier = new CopyFrontier(this.size, chunkSize, cp?.verifyCursor ?? 0);
    this.dirty = new DirtyMap(this.size, granule);
    if (cp) this.dirty.merge(DirtyMap.deserialize(cp.dirty, this.size));
    this.verified = cp?.verified ?? false;
    this.mirroredWrites = cp?.mirroredWrites ?? 0;
    this.mismatches = cp?.mismatches ?? 0;
    this.gateKeeper = new PauseGate(cp?.paused ?? false);
    // After a restart the target holds data from before: zero regions must be written as zeroes.
    this.targetReadsZero = this.opts.targetReadsZero && !cp;
    this.link = new TargetLink(this.opts.target, this.size, granule, {
      onFailure: (err) => this.onTargetFailure(err),
      onLostWrites: (regions) => this.dirty.merge(regions),
    });
    this.hosts = new HostActivity(undefined, undefined, this.opts.hostsLastSeenAt);
    this.intent = new WriteIntentLog(this.size, () => this.checkpointer.persistNow());
    this.throttle = new CopyThrottle(
      this.opts.throttle,
      undefined,
      () => this.hosts.busy,
      this.opts.busyThrottle,
    );
    this.checkpointer = new Checkpointer(
      () => this.checkpoint(),
      (c) => this.opts.persist(c),
      () => this.beforeCheckpoint(),
      this.opts.checkpointIntervalMs,
    );
    this.reporter = new ProgressReporter(
      () => this.progress(),
      (p) => this.opts.publish?.(p),
      this.opts.progressIntervalMs,
    );
    this.mirror = new MirrorStage(this.opts.source, this);
  }

  /** Runs the move to its end; calling it again returns the same outcome. */
  start(): Promise<MoveOutcome> {
    this.running ??= this.run();
    return this.running;
  }

  /** Stops copy traffic; the mirror stays on. */
  pause(): void {
    if (isTerminalPhase(this.phase) || !this.gateKeeper.pause()) return;
    this.changed(true);
  }

  resume(): void {
    if (!this.gateKeeper.resume()) return;
    this.reporter.resetRate();
    this.changed(true);
  }

  /**
   * Ends the move before cutover, leaving source and mapping as they are. During a cutover it stops
   * the switch unless the volume layer has already been told to go ahead: then the move ends done.
   */
  abort(): Promise<MoveOutcome> {
    if (!isTerminalPhase(this.phase)) {
      this.abortRequested = true;
      this.active = false;
      this.stopper.abort(new FerryError('ERR_MOVE_STATE', 'the move was aborted'));
      this.gateKeeper.wake();
    }
    return this.start();
  }

  /**
   * Agent shutdown: stops copying and checkpoints without ending the move, so the next start of the
   * agent resumes it. The mirror stays as it is until the volume layer closes the chain.
   */
  stop(): Promise<MoveOutcome> {
    if (!isTerminalPhase(this.phase) && !this.abortRequested) {
      this.stopRequested = true;
      this.stopper.abort(new FerryError('ERR_SHUTTING_DOWN', 'the agent is stopping'));
      this.gateKeeper.wake();
    }
    return this.start();
  }

  setThrottle(rate: CopyRate): void {
    this.throttle.setRate(rate);
  }

  /** The copy's limit while hosts do I/O on the volume (null or 0: none). */
  setBusyThrottle(rate: CopyRate): void {
    this.throttle.setBusyRate(rate);
  }

  get currentPhase(): MovePhase {
    return this.phase;
  }

  progress(): MoveProgress {
    const total = this.size;
    const work = this.frontier.copiedBytes + (this.opts.verify ? this.verifyFrontier.copiedBytes : 0);
    const rate = this.reporter.rate(work);
    const remaining = total * (this.opts.verify ? 2 : 1) - work;
    return {
      id: this.opts.id,
      vv: this.opts.vv,
      phase: this.phase,
      paused: this.gateKeeper.paused,
      hostsFirst: !isTerminalPhase(this.phase) && !this.gateKeeper.paused && this.throttle.limitedByHosts(),
      copiedBytes: this.frontier.copiedBytes,
      totalBytes: total,
      verifiedBytes: this.opts.verify ? this.verifyFrontier.copiedBytes : 0,
      bytesPerSecond: Math.round(rate),
      etaSeconds: isTerminalPhase(this.phase) ? 0 : rate > 0 ? Math.ceil(remaining / rate) : null,
      mirroredWrites: this.mirroredWrites,
      dirtyBytes: this.dirty.dirtyBytes,
      mismatches: this.mismatches,
      cutoverPauseMs: this.cutoverPauseMs,
      ...(this.fatal ? { error: this.fatal.message } : {}),
    };
  }

  /** The durable state: dirty counts everything not safely on the target (unflushed, in flight). */
  checkpoint(): MoveCheckpoint {
    const dirty = this.dirty.clone();
    const cursor = this.frontier.cursor;
    if (!isTerminalPhase(this.phase)) {
      dirty.merge(this.link.unflushedRegions);
      // A mark (64 MiB) may reach past the cursor, where a restarted move copies everything anyway.
      for (const mark of this.intent.marks.runs()) {
        const end = Math.min(mark.offset + mark.length, cursor);
        if (end > mark.offset) dirty.mark(mark.offset, end - mark.offset);
      }
    }
    return {
      phase: this.phase,
      paused: this.gateKeeper.paused,
      cursor,
      dirty: dirty.serialize(),
      verifyCursor: this.verifyFrontier.cursor,
      verified: this.verified,
      mirroredWrites: this.mirroredWrites,
      mismatches: this.mismatches,
      cutoverPauseMs: this.cutoverPauseMs,
      error: this.fatal?.message ?? null,
    };
  }

  // --- MirrorCoordinator: what the mirror stage asks of the move ---

  mirrorRuns(offset: number, length: number): ByteRange[] {
    return this.active ? this.frontier.copiedRuns(offset, length) : [];
  }

  async beginTargetWrite(runs: ByteRange[]): Promise<() => void> {
    try {
      return await this.intent.begin(runs, true);
    } catch (err) {
      this.failMove(err);
      return () => {};
    }
  }

  async markDirty(runs: ByteRange[], durable: boolean): Promise<void> {
    if (!this.active) return;
    let added = false;
    for (const r of runs) added = this.dirty.mark(r.offset, r.length) || added;
    this.changed();
    if (added && durable) await this.persistOrFail();
  }

  async flushTarget(): Promise<void> {
    if (!this.active || !this.link.healthy) return;
    try {
      await this.link.flush();
      this.lastTargetFlush = performance.now();
    } catch {
      // The link recorded the unflushed regions as dirty: make that durable before the host's flush ends.
      await this.persistOrFail();
    }
  }

  noteMirrored(): void {
    this.mirroredWrites++;
    this.changed();
  }

  noteHostIo(): void {
    this.hosts.note();
  }

  // --- the run loop ---

  private async run(): Promise<MoveOutcome> {
    this.started = true;
    this.checkpointer.start((err) => this.failMove(err));
    this.log.info(
      `start: ${this.size} bytes, cursor ${this.frontier.cursor}, ${this.dirty.dirtyBytes} bytes dirty, chunk ${this.opts.chunkSize} x ${this.opts.parallel}`,
    );
    this.changed(true);
    // The copy starts at once: until their own connection is open (a TLS handshake, ~40 ms), mirrored
    // writes share the copy's. Whatever replaces or releases lanes waits for the opening first.
    if (this.opts.mirrorLane)
      this.mirrorLaneOpening = openMirrorLane(this.link, (lane) => this.opts.reopenTarget(lane), this.log);
    try {
      for (;;) {
        this.checkStopped();
        if (!this.link.healthy) await this.recoverTarget();
        else if (!this.frontier.complete) await copyPass(this.passContext());
        else if (!this.dirty.isEmpty) await catchUpPass(this.passContext());
        else if (this.opts.verify && !this.verified) await this.verify();
        else if (await this.tryCutover()) break;
      }
      this.setPhase('done');
    } catch (err) {
      if (this.stopRequested && !this.fatal) {
        this.log.info(`stopped in phase ${this.phase}; the next start resumes the move`);
      } else if (this.abortRequested && !this.fatal) {
        this.setPhase('aborted');
      } else {
        this.fatal ??= err instanceof Error ? err : new Error(String(err));
        this.log.error(`failed: ${this.fatal.message}`);
        this.setPhase('failed');
      }
    } finally {
      await this.mirrorLaneOpening; // never rejects; the session closes the link after this
      // A stopped move keeps mirroring (and marking intents) until the volume layer closes the chain.
      if (isTerminalPhase(this.phase)) this.active = false;
      this.gateKeeper.wake();
      await this.checkpointer.stop();
      await this.checkpointer.persistNow().catch((err) => this.log.error(`final checkpoint: ${String(err)}`));
      await this.reporter.finish();
    }
    const phase: MoveOutcome['phase'] = isTerminalPhase(this.phase)
      ? (this.phase as MoveOutcome['phase'])
      : 'stopped';
    return {
      phase,
      cutoverPauseMs: this.cutoverPauseMs,
      ...(this.fatal ? { error: this.fatal.message } : {}),
    };
  }

  private passContext(): PassContext {
    return {
      source: this.opts.source,
      link: this.link,
      target: this.copyTarget,
      locks: this.locks,
      frontier: this.frontier,
      verifyFrontier: this.verifyFrontier,
      dirty: this.dirty,
      intent: this.intent,
      throttle: this.throttle,
      parallel: this.opts.parallel,
      chunkSize: this.opts.chunkSize,
      signal: this.stopper.signal,
      targetReadsZero: this.targetReadsZero,
      sourceExtents: this.opts.sourceExtents,
      pieceBytes: () => (this.hosts.busy ? BUSY_COPY_PIECE : QUIET_COPY_PIECE),
      gate: () => this.gate(),
      paused: () => this.gateKeeper.paused,
      stopping: () => this.abortRequested || this.stopRequested || this.fatal !== null,
      onProgress: () => this.changed(),
      onMismatch: (offset) => {
        this.mismatches++;
        this.log.warn(`verify: chunk at ${offset} differed on the target; copied again`);
      },
    };
  }

  private readonly copyTarget: CopyTarget = {
    write: (data, offset) => this.link.run((t) => t.write(data, offset), { offset, length: data.length }),
    zero: (offset, length) => this.link.run((t) => zeroRange(t, offset, length), { offset, length }),
  };

  private async verify(): Promise<void> {
    this.setPhase('verifying');
    await verifyPass(this.passContext());
    if (this.verifyFrontier.complete) {
      this.verified = true;
      this.log.info(`verify: done, ${this.mismatches} chunk(s) differed`);
    }
  }

  private async tryCutover(): Promise<boolean> {
    await this.mirrorLaneOpening;
    this.setPhase('cutover');
    const pauseMs = await attemptCutover({
      link: this.link,
      hook: this.opts.cutover,
      active: () => this.active,
      caughtUp: () => this.frontier.complete && this.dirty.isEmpty && this.intent.writesInFlight === 0,
    });
    if (pauseMs === null) {
      this.checkStopped(); // an abort stopped the switch: end as aborted
      this.setPhase(this.link.healthy ? 'copying' : 'degraded');
      return false;
    }
    // Switched: the move is done, even if an abort arrived meanwhile (too late).
    this.active = false;
    await this.link.releaseMirrorLane();
    this.cutoverPauseMs = pauseMs;
    this.log.info(`cutover: mapping switched to the target, host I/O held ${pauseMs} ms`);
    return true;
  }

  /** Degraded: retry the target with backoff until it is back, then go on copying. */
  private async recoverTarget(): Promise<void> {
    this.setPhase('degraded');
    await this.mirrorLaneOpening; // a lane opened for the failed target is closed, not kept
    await reconnectTarget(this.link, {
      reopen: (lane) => this.opts.reopenTarget(lane),
      minSize: this.size,
      initialDelayMs: this.opts.retryInitialMs,
      maxDelayMs: this.opts.retryMaxMs,
      signal: this.stopper.signal,
      log: this.log,
      mirrorLane: this.opts.mirrorLane,
    });
    this.targetReadsZero = false;
    this.reporter.resetRate();
    this.log.info(`target is back; ${this.dirty.dirtyBytes} dirty bytes to copy again`);
    this.setPhase('copying');
  }

  private onTargetFailure(err: unknown): void {
    if (!this.active) return;
    this.log.warn(`target failed: ${errorText(err)}; host I/O goes on against the source`);
    if (this.phase === 'copying' || this.phase === 'verifying') this.setPhase('degraded');
  }

  private async beforeCheckpoint(): Promise<void> {
    const due = performance.now() - this.lastTargetFlush >= this.opts.targetFlushIntervalMs;
    if (due && this.active && this.link.healthy && !this.link.unflushedRegions.isEmpty) {
      await this.link.flush().catch(() => {}); // a failure is handled by the link's events
      this.lastTargetFlush = performance.now();
    }
    this.intent.sweep();
  }

  private async gate(): Promise<void> {
    await this.gateKeeper.pass(() => this.checkStopped());
  }

  private checkStopped(): void {
    if (this.fatal) throw this.fatal;
    this.stopper.signal.throwIfAborted();
  }

  private failMove(err: unknown): void {
    if (this.fatal || isTerminalPhase(this.phase)) return;
    this.fatal = new FerryError('ERR_IO', `move checkpoint could not be written: ${errorText(err)}`);
    this.active = false;
    this.stopper.abort(this.fatal);
    this.gateKeeper.wake();
  }

  private async persistOrFail(): Promise<void> {
    try {
      await this.checkpointer.persistNow();
    } catch (err) {
      this.failMove(err);
    }
  }

  private setPhase(phase: MovePhase): void {
    if (this.phase === phase) return;
    this.log.info(`phase ${this.phase} -> ${phase}`);
    this.phase = phase;
    this.changed(true);
  }

  /** Progress changed; `persist` also writes a checkpoint soon (phase changes, pause/resume). */
  private changed(persist = false): void {
    this.reporter.changed();
    if (persist && this.started) this.checkpointer.persistNow().catch((err) => this.failMove(err));
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
