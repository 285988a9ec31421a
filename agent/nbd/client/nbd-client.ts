// Ferry's NBD client: one export reached through one or more connections (several only when the
// server advertises CAN_MULTI_CONN, so a flush on one covers writes made on all). Requests go to the
// least-loaded connection; reads and writes larger than the server's maximum block size are split.
// If any connection dies the whole client is dead: its pending commands fail with NbdLinkError and
// onDisconnect listeners hear it once. Reconnecting is the owner's job (remote-backend.ts).

import { BackendError, type Extent } from '../../backend/block-backend.js';
import { createLogger, type Logger } from '../../log.js';
import { Cmd, CmdFlag, TxFlag } from '../wire.js';
import { Command } from './command.js';
import { type ExportInfo, formatWhere, NbdConnection } from './connection.js';
import { NbdLinkError } from './errors.js';

export interface NbdClientOptions {
  host: string;
  port: number;
  exportName: string;
  /** TLS-PSK; when set, TLS is mandatory (never downgraded). */
  tls?: { identity: string; key: Buffer };
  /** Default 4; more than 1 only if the server advertises CAN_MULTI_CONN. */
  connections?: number;
  /** Per connection, default 64. */
  maxInFlight?: number;
  /** Default 10 000. */
  connectTimeoutMs?: number;
  /**
   * The link is declared dead (NbdLinkError) when requests are in flight and no reply byte arrives
   * for this long: a hung server or a network partition, which TCP alone reports only after minutes.
   * Default 0: never.
   */
  stallTimeoutMs?: number;
  log?: Logger;
}

// TRIM, WRITE_ZEROES and BLOCK_STATUS carry no payload but their length is a u32: split there.
const MAX_EFFECT_LENGTH = 1024 * 1024 * 1024;
const ZERO_FALLBACK_CHUNK = 1024 * 1024;

export class NbdClient {
  private dead: Error | null = null;
  private closed: Promise<void> | null = null;
  private readonly listeners = new Set<(err: Error) => void>();
  private readonly info: ExportInfo;
  readonly where: string;

  private constructor(
    private readonly conns: NbdConnection[],
    private readonly log: Logger,
    where: string,
    private readonly exportName: string,
  ) {
    this.info = conns[0].info;
    this.where = where;
    for (const conn of conns) conn.onDeath((err) => this.onConnectionDeath(err));
  }

  static async connect(opts: NbdClientOptions): Promise<NbdClient> {
    validateOptions(opts);
    const log = opts.log ?? createLogger('nbd-client');
    const connOpts = {
      host: opts.host,
      port: opts.port,
      exportName: opts.exportName,
      tls: opts.tls,
      maxInFlight: opts.maxInFlight ?? 64,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      stallTimeoutMs: opts.stallTimeoutMs ?? 0,
      log,
    };
    const first = await NbdConnection.open(connOpts);
    const wanted = opts.connections ?? 4;
    const conns = [first];
    if (wanted > 1 && first.info.flags & TxFlag.CAN_MULTI_CONN) {
      const more = await Promise.allSettled(
        Array.from({ length: wanted - 1 }, () => NbdConnection.open(connOpts)),
      );
      for (const r of more) if (r.status === 'fulfilled') conns.push(r.value);
      // Extra connections are a speed-up, not a requirement (a server may cap its clients).
      const failed = more.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        log.warn(
          `opened ${conns.length} of ${wanted} connections to ${formatWhere(opts.host, opts.port)}: ` +
            `${(failed.reason as Error).message}`,
        );
      }
    }
    return new NbdClient(conns, log, formatWhere(opts.host, opts.port), opts.exportName);
  }

  get size(): number {
    return this.info.size;
  }
  /** Transmission flags as the server sent them. */
  get flags(): number {
    return this.info.flags;
  }
  get connectionCount(): number {
    return this.conns.length;
  }
  get blockSizes() {
    return this.info.blockSizes;
  }
  get tls(): boolean {
    return this.info.tls;
  }
  get readOnly(): boolean {
    return (this.flags & TxFlag.READ_ONLY) !== 0;
  }
  get canFlush(): boolean {
    return (this.flags & TxFlag.SEND_FLUSH) !== 0;
  }
  get canFua(): boolean {
    return (this.flags & TxFlag.SEND_FUA) !== 0;
  }
  get canTrim(): boolean {
    return (this.flags & TxFlag.SEND_TRIM) !== 0;
  }
  get canZero(): boolean {
    return (this.flags & TxFlag.SEND_WRITE_ZEROES) !== 0;
  }
  get canFastZero(): boolean {
    return (this.flags & TxFlag.SEND_FAST_ZERO) !== 0;
  }
  get canMultiConn(): boolean {
    return (this.flags & TxFlag.CAN_MULTI_CONN) !== 0;
  }
  get canBlockStatus(): boolean {
    return this.info.allocationContext !== null;
  }
  get isAlive(): boolean {
    return this.dead === null && this.closed === null;
  }

  async pread(into: Buffer, offset: number): Promise<void> {
    if (into.length === 0) return this.assertOpen();
    const max = this.info.blockSizes.maximum;
    if (into.length <= max) {
      await this.run(Cmd.READ, 0, offset, into.length, null, into);
      return;
    }
    const parts: Promise<unknown>[] = [];
    for (let at = 0; at < into.length; at += max) {
      const piece = into.subarray(at, Math.min(at + max, into.length));
      parts.push(this.run(Cmd.READ, 0, offset + at, piece.length, null, piece));
    }
    await Promise.all(parts);
  }

  async pwrite(data: Buffer, offset: number, opts: { fua?: boolean } = {}): Promise<void> {
    this.assertWritable('write');
    if (data.length === 0) return this.assertOpen();
    const fuaFlag = opts.fua && this.canFua ? CmdFlag.FUA : 0;
    const max = this.info.blockSizes.maximum;
    if (data.length <= max) {
      await this.run(Cmd.WRITE, fuaFlag, offset, data.length, data, null);
    } else {
      const parts: Promise<unknown>[] = [];
      for (let at = 0; at < data.length; at += max) {
        const piece = data.subarray(at, Math.min(at + max, data.length));
        parts.push(this.run(Cmd.WRITE, fuaFlag, offset + at, piece.length, piece, null));
      }
      await Promise.all(parts);
    }
    if (opts.fua && !this.canFua) await this.flush();
  }

  async flush(): Promise<void> {
    if (!this.canFlush) return;
    // With CAN_MULTI_CONN one flush covers every connection; without it there is one connection.
    await this.run(Cmd.FLUSH, 0, 0, 0, null, null);
  }

  async trim(offset: number, length: number, opts: { fua?: boolean } = {}): Promise<void> {
    this.assertWritable('trim');
    if (!this.canTrim || length === 0) return this.assertOpen(); // advisory: the data need not change
    const fuaFlag = opts.fua && this.canFua ? CmdFlag.FUA : 0;
    await this.splitEffect(Cmd.TRIM, fuaFlag, offset, length);
    if (opts.fua && !this.canFua) await this.flush();
  }

  async zero(
    offset: number,
    length: number,
    opts: { noHole?: boolean; fastZero?: boolean; fua?: boolean } = {},
  ): Promise<void> {
    this.assertWritable('zero');
    if (opts.fastZero && !(this.canZero && this.canFastZero)) {
      throw new BackendError('ENOTSUP', `${this.where} cannot zero fast`);
    }
    if (length === 0) return this.assertOpen();
    if (!this.canZero) {
      const zeroes = Buffer.alloc(Math.min(length, ZERO_FALLBACK_CHUNK));
      for (let at = 0; at < length; at += zeroes.length) {
        await this.pwrite(zeroes.subarray(0, Math.min(zeroes.length, length - at)), offset + at, opts);
      }
      return;
    }
    const flags =
      (opts.noHole ? CmdFlag.NO_HOLE : 0) |
      (opts.fastZero ? CmdFlag.FAST_ZERO : 0) |
      (opts.fua && this.canFua ? CmdFlag.FUA : 0);
    await this.splitEffect(Cmd.WRITE_ZEROES, flags, offset, length);
    if (opts.fua && !this.canFua) await this.flush();
  }

  /** base:allocation extents from offset; may cover less than asked, never more. */
  async blockStatus(offset: number, length: number): Promise<Extent[]> {
    if (length === 0) return [];
    const asked = Math.min(length, MAX_EFFECT_LENGTH);
    if (!this.canBlockStatus) return [{ length: asked, flags: 0 }];
    const cmd = await this.run(Cmd.BLOCK_STATUS, 0, offset, asked, null, null);
    return clipExtents(cmd.extents ?? [], asked, this.where);
  }

  /** Sends NBD_CMD_DISC on every connection after their commands finish. Idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = Promise.all(this.conns.map((c) => c.close())).then(() => undefined);
    }
    return this.closed;
  }

  /** Called once if the link fails (not after close()); returns an unsubscribe function. */
  onDisconnect(cb: (err: Error) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  // --- internals ---

  private run(
    type: number,
    flags: number,
    offset: number,
    length: number,
    payload: Buffer | null,
    into: Buffer | null,
  ): Promise<Command> {
    if (this.closed) {
      return Promise.reject(new BackendError('ESHUTDOWN', `the NBD client for ${this.where} is closed`));
    }
    if (this.dead) return Promise.reject(new NbdLinkError(this.dead.message));
    const { cmd, done } = Command.create(type, flags, offset, length, payload, into);
    this.pick().submit(cmd);
    return done;
  }

  private async splitEffect(type: number, flags: number, offset: number, length: number): Promise<void> {
    if (length <= MAX_EFFECT_LENGTH) {
      await this.run(type, flags, offset, length, null, null);
      return;
    }
    const parts: Promise<unknown>[] = [];
    for (let at = 0; at < length; at += MAX_EFFECT_LENGTH) {
      parts.push(this.run(type, flags, offset + at, Math.min(MAX_EFFECT_LENGTH, length - at), null, null));
    }
    await Promise.all(parts);
  }

  /** The least-loaded usable connection (ties go to the first). */
  private pick(): NbdConnection {
    let best = this.conns[0];
    let bestLoad = best.load;
    for (let i = 1; i < this.conns.length && bestLoad > 0; i++) {
      const load = this.conns[i].load;
      if (load < bestLoad) {
        best = this.conns[i];
        bestLoad = load;
      }
    }
    return best;
  }

  /** Zero-length requests are not sent (the spec leaves them unspecified) but still fail when closed. */
  private assertOpen(): void {
    if (this.closed) throw new BackendError('ESHUTDOWN', `the NBD client for ${this.where} is closed`);
    if (this.dead) throw new NbdLinkError(this.dead.message);
  }

  private assertWritable(what: string): void {
    if (this.readOnly) {
      throw new BackendError(
        'EPERM',
        `cannot ${what}: export '${this.exportName}' on ${this.where} is read-only`,
      );
    }
  }

  private onConnectionDeath(err: Error): void {
    if (this.dead || this.closed) return;
    this.dead = err;
    for (const conn of this.conns) conn.abort(err);
    this.log.warn(`NBD client for '${this.exportName}' on ${this.where} is down: ${err.message}`);
    for (const cb of [...this.listeners]) cb(err);
  }
}

function clipExtents(extents: Extent[], length: number, where: string): Extent[] {
  const out: Extent[] = [];
  let covered = 0;
  for (const e of extents) {
    if (covered >= length) break;
    if (e.length === 0) continue;
    const len = Math.min(e.length, length - covered);
    out.push({ length: len, flags: e.flags });
    covered += len;
  }
  if (out.length === 0) throw new BackendError('EIO', `${where} answered BLOCK_STATUS with no extent`);
  return out;
}

function validateOptions(opts: NbdClientOptions): void {
  const bad = (what: string) => {
    throw new BackendError('EINVAL', `NbdClient.connect: ${what}`);
  };
  if (!opts.host) bad('host is empty');
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535)
    bad(`port ${opts.port} is not 1..65535`);
  if (Buffer.byteLength(opts.exportName, 'utf8') > 4096) bad('export name is longer than 4096 bytes');
  if (opts.tls && (!opts.tls.identity || opts.tls.key.length === 0)) bad('TLS needs a PSK identity and key');
  if (opts.connections !== undefined && !(Number.isInteger(opts.connections) && opts.connections >= 1)) {
    bad(`connections must be a positive integer, not ${opts.connections}`);
  }
  if (opts.stallTimeoutMs !== undefined && !(opts.stallTimeoutMs >= 0)) {
    bad(`stallTimeoutMs must be 0 or more, not ${opts.stallTimeoutMs}`);
  }
  if (opts.maxInFlight !== undefined && !(Number.isInteger(opts.maxInFlight) && opts.maxInFlight >= 1)) {
    bad(`maxInFlight must be a positive integer, not ${opts.maxInFlight}`);
  }
}
