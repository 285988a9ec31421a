// One client connection's life: handshake (with its timeout), then transmission, then an
// idempotent close that releases the export only after every request running on it has finished.
// Owns the streams: the plaintext ones, or the TLS socket once STARTTLS succeeded. Errors on the
// streams (EPIPE, ECONNRESET) end this connection only, never the process.

import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { ExportProvider, NbdClientInfo, OpenedExport } from './export-provider.js';
import { HandshakeAbort, type HandshakeConnection } from './handshake-context.js';
import { negotiateNewstyle } from './handshake-newstyle.js';
import { HandshakeReader, StreamClosedError } from './handshake-reader.js';
import { ReplyWriter } from './reply-writer.js';
import { readIntoReusedBuffer } from './socket-read-buffer.js';
import { acceptTlsPsk } from './tls-psk.js';
import { Transmission, type TransmissionEnd } from './transmission.js';
import { TxFlag } from './wire.js';

/** Refusals logged per connection before the rest are counted silently (a flood stays one screen). */
const MAX_LOGGED_REFUSALS = 20;
/** How long a soft close waits for queued replies to reach the client before destroying. */
const SOFT_CLOSE_TIMEOUT_MS = 5_000;
/** Bytes one read of a plain socket may return (a TLS socket hands over at most one 16 KiB record). */
const READ_BUFFER_BYTES = 1024 * 1024;

export interface ConnectionDeps {
  provider: ExportProvider;
  log: Logger;
  handshakeTimeoutMs: number;
  maxInFlightBytes: number;
  /** The handshake ended, whichever way (the server counts connections still negotiating). */
  onHandshakeEnd(conn: Connection): void;
  onClosed(conn: Connection): void;
}

export interface ConnectionEndpoints {
  id: number;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** The TCP socket when input and output are one; STARTTLS needs it. */
  socket?: Socket;
  address: string;
  port: number;
}

type Phase = 'handshake' | 'transmission' | 'closed';

export class Connection implements HandshakeConnection {
  readonly id: number;
  readonly address: string;
  readonly port: number;
  readonly label: string;
  readonly log: Logger;
  tlsIdentity?: string;
  exportName?: string;
  reader: HandshakeReader;
  private phase: Phase = 'handshake';
  private input: NodeJS.ReadableStream;
  private output: NodeJS.WritableStream;
  private socket?: Socket;
  /** After STARTTLS: the TLS socket over `socket`, which requests then arrive on. */
  private tlsSocket?: Socket;
  private opened?: OpenedExport;
  private transmission?: Transmission;
  private replies?: ReplyWriter;
  private refusals = 0;
  private handshakeTimer?: NodeJS.Timeout;
  private closing?: Promise<void>;
  private drainRequested?: Promise<void>;
  private readonly onStreamError = (err: Error) => {
    this.log.info(`${this.label}: connection error: ${err.message}`);
    void this.close('hard');
  };
  private readonly onStreamEnd = () => {
    // EOF in transmission: let started requests finish, then close (the client left without DISC).
    if (this.phase === 'transmission' && this.transmission) this.transmission.drain();
    else if (this.phase === 'handshake') this.reader.fail(new StreamClosedError());
  };
  private readonly onStreamClose = () => void this.close('hard');

  constructor(
    endpoints: ConnectionEndpoints,
    private readonly deps: ConnectionDeps,
  ) {
    this.id = endpoints.id;
    this.address = endpoints.address;
    this.port = endpoints.port;
    this.label = `conn ${this.id} (${endpoints.port ? `${this.address}:${this.port}` : this.address})`;
    this.log = deps.log;
    this.input = endpoints.input;
    this.output = endpoints.output;
    this.socket = endpoints.socket;
    this.attachStreamHandlers(this.input, this.output);
    this.reader = new HandshakeReader(this.input);
  }

  clientInfo(): NbdClientInfo {
    return { id: this.id, address: this.address, port: this.port, tlsIdentity: this.tlsIdentity };
  }

  /** Runs the whole life of the connection; never throws. */
  async run(): Promise<void> {
    this.handshakeTimer = setTimeout(() => {
      this.logBad(`handshake not finished after ${this.deps.handshakeTimeoutMs} ms: disconnecting`);
      this.reader.fail(new HandshakeAbort('handshake timeout'));
      void this.close('hard');
    }, this.deps.handshakeTimeoutMs);
    let start: Awaited<ReturnType<typeof negotiateNewstyle>>;
    try {
      start = await negotiateNewstyle(this, this.deps.provider);
    } catch (err) {
      if (err instanceof HandshakeAbort) this.logBad(`handshake aborted: ${err.message}`);
      else if (err instanceof StreamClosedError) this.log.info(`${this.label}: left during the handshake`);
      else this.log.warn(`${this.label}: handshake failed: ${(err as Error).message}`);
      this.endHandshake();
      await this.close('hard');
      return;
    }
    this.endHandshake();
    if (!start || this.closing) {
      // ABORT, or the client vanished (or timed out) while its GO was being answered.
      start?.opened.release();
      await this.close('soft');
      return;
    }
    this.beginTransmission(start.opened, start.flags, start.structured, start.baseAllocationId);
  }

  /** Option replies (and the EXPORT_NAME reply): resolves when written or when the peer is gone. */
  readonly send = (buf: Buffer): Promise<void> =>
    new Promise((resolve) => {
      if (this.phase === 'closed') return resolve();
      this.output.write(buf, () => resolve());
    });

  logBad(message: string): void {
    this.refusals++;
    if (this.refusals <= MAX_LOGGED_REFUSALS) this.log.warn(`${this.label}: ${message}`);
    else if (this.refusals === MAX_LOGGED_REFUSALS + 1) {
      this.log.warn(`${this.label}: more refusals from this client are not logged`);
    }
  }

  canStartTls(): boolean {
    return this.socket !== undefined && this.input === this.socket && this.output === this.socket;
  }

  async upgradeToTls(keyFor: (identity: string) => Buffer | undefined): Promise<void> {
    const raw = this.socket;
    if (!raw) throw new HandshakeAbort('STARTTLS on a connection that is not a socket');
    const plaintext = this.reader.detach();
    if (plaintext.length > 0 || raw.readableLength > 0) {
      throw new HandshakeAbort('plaintext data sent after STARTTLS (refused: would bypass TLS)');
    }
    this.detachStreamHandlers(this.input, this.output);
    raw.on('error', this.onStreamError); // the raw socket may still report a reset
    const session = await acceptTlsPsk(raw, keyFor);
    this.tlsIdentity = session.identity;
    this.tlsSocket = session.socket;
    this.input = session.socket;
    this.output = session.socket;
    this.attachStreamHandlers(session.socket, session.socket);
    this.reader = new HandshakeReader(session.socket);
    this.log.info(`${this.label}: TLS established for PSK identity '${session.identity}'`);
  }

  /**
   * Finishes the requests already received, flushes the export, then closes (server shutdown or
   * a policy change). A connection still negotiating is simply closed.
   */
  drainAndClose(): Promise<void> {
    if (this.phase !== 'transmission' || !this.transmission) return this.close('hard');
    if (!this.drainRequested) {
      this.transmission.drain();
      this.drainRequested = this.closing ?? this.close('drain');
    }
    return this.drainRequested;
  }

  /** Idempotent. 'soft' lets queued replies reach the client first; 'drain' flushes the export too. */
  close(kind: 'hard' | 'soft' | 'drain'): Promise<void> {
    this.closing ??= this.doClose(kind);
    return this.closing;
  }

  private async doClose(kind: 'hard' | 'soft' | 'drain'): Promise<void> {
    // Yield first, so `closing` is set before anything below can call close() again.
    await undefined;
    const wasTransmitting = this.phase === 'transmission';
    // Stop reading requests (idempotent); a WRITE cut off mid-payload is forgotten.
    this.transmission?.drain();
    if (kind === 'drain' && this.transmission) await this.transmission.idle();
    this.phase = 'closed';
    clearTimeout(this.handshakeTimer);
    this.reader.fail(new StreamClosedError('connection closed'));
    if (kind === 'drain' && this.opened) await this.flushQuietly(this.opened);
    if (kind === 'hard') {
      this.replies?.close(); // requests still running reply into the void, not into a dead socket
      this.destroyStreams();
    } else await this.endStreams();
    if (this.transmission) await this.transmission.idle();
    this.transmission = undefined;
    if (this.opened) {
      const opened = this.opened;
      this.opened = undefined;
      try {
        opened.release();
      } catch (err) {
        this.log.warn(`${this.label}: releasing export '${opened.name}' failed: ${(err as Error).message}`);
      }
    }
    if (wasTransmitting || kind !== 'hard') this.log.info(`${this.label}: closed`);
    this.deps.onClosed(this);
  }

  private beginTransmission(
    opened: OpenedExport,
    flags: number,
    structured: boolean,
    baseAllocationId: number,
  ) {
    this.opened = opened;
    this.exportName = opened.name;
    this.phase = 'transmission';
    let leftover = this.reader.detach();
    let fedByUs = false;
    const transport = this.tlsSocket ?? this.socket;
    if (transport && (this.input as unknown) === transport) {
      const buffered = readIntoReusedBuffer(
        transport,
        READ_BUFFER_BYTES,
        (chunk) => this.transmission?.feed(chunk, true),
        () => this.transmission?.directReadTarget() ?? null,
      );
      if (buffered) {
        fedByUs = true;
        if (buffered.length > 0) leftover = Buffer.concat([leftover, buffered]);
      }
    }
    if (this.socket) this.socket.setNoDelay(true);
    const replies = new ReplyWriter(this.output, structured);
    this.replies = replies;
    this.transmission = new Transmission({
      input: this.input,
      replies,
      backend: opened.backend,
      shape: { size: opened.backend.size(), flags, hasMetaContext: baseAllocationId !== 0 },
      baseAllocationId,
      maxInFlightBytes: this.deps.maxInFlightBytes,
      logBad: (message) => this.logBad(message),
      onEnd: (reason) => this.onTransmissionEnd(reason),
    });
    this.log.info(
      `${this.label}: serving export '${opened.name}'${flags & TxFlag.READ_ONLY ? ' read-only' : ''}`,
    );
    this.transmission.start(leftover, this.output, fedByUs);
  }

  private onTransmissionEnd(reason: TransmissionEnd): void {
    if (reason === 'bad-magic') void this.close('hard');
    else if (reason === 'drained') void this.close('drain');
    else void this.close('soft');
  }

  private endHandshake(): void {
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.deps.onHandshakeEnd(this);
  }

  private async flushQuietly(opened: OpenedExport): Promise<void> {
    const caps = opened.backend.capabilities();
    if (opened.readOnly || caps.readOnly || !caps.canFlush) return;
    try {
      await opened.backend.flush();
    } catch (err) {
      this.log.warn(`${this.label}: flush of export '${opened.name}' failed: ${(err as Error).message}`);
    }
  }

  private endStreams(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.destroyStreams();
        resolve();
      }, SOFT_CLOSE_TIMEOUT_MS);
      this.output.end(() => {
        clearTimeout(timer);
        this.destroyStreams();
        resolve();
      });
    });
  }

  private destroyStreams(): void {
    for (const stream of new Set<unknown>([this.input, this.output, this.socket])) {
      const s = stream as { destroy?: () => void } | undefined;
      s?.destroy?.();
    }
  }

  private attachStreamHandlers(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): void {
    input.on('error', this.onStreamError);
    input.on('end', this.onStreamEnd);
    input.on('close', this.onStreamClose);
    if ((output as unknown) !== input) {
      output.on('error', this.onStreamError);
      output.on('close', this.onStreamClose);
    }
  }

  private detachStreamHandlers(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): void {
    for (const s of [input, output] as Array<NodeJS.EventEmitter>) {
      s.removeListener('error', this.onStreamError);
      s.removeListener('end', this.onStreamEnd);
      s.removeListener('close', this.onStreamClose);
    }
  }
}
