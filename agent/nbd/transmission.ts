// The transmission phase's request loop ("Transmission"): parse every request a 'data' event
// holds, validate it once, start it on the backend at once (requests run concurrently and are
// answered out of order), and reply. Memory is bounded: above maxInFlightBytes of requests held
// plus replies queued, the socket is no longer read until the client drains its replies.

import type { BackendCapabilities, BlockBackend } from '../backend/block-backend.js';
import type { ReplyWriter } from './reply-writer.js';
import { dataBuffers } from './transmission-buffers.js';
import { type CommandContext, handleCommand } from './transmission-handlers.js';
import { type ExportShape, type Rejection, validateRequest } from './transmission-validate.js';
import { Cmd, commandName, decodeRequestHeader, REQUEST_HEADER_SIZE, type RequestHeader } from './wire.js';

/** Bookkeeping charged per request on top of its data, so floods of empty requests count too. */
const REQUEST_OVERHEAD = 256;
const EMPTY = Buffer.alloc(0);
/**
 * Payload still to come from which the socket reads straight into the request's buffer. Smaller
 * rests come with the next request's header in one read, which is worth more than the copy.
 */
const DIRECT_READ_MIN_BYTES = 64 * 1024;

/** Why the loop ended: the connection decides how to close (DISC is soft, bad magic is hard). */
export type TransmissionEnd = 'disconnect' | 'bad-magic' | 'drained';

export interface TransmissionOptions {
  input: NodeJS.ReadableStream;
  replies: ReplyWriter;
  backend: BlockBackend;
  shape: ExportShape;
  baseAllocationId: number;
  maxInFlightBytes: number;
  /** Logs refused requests and failures with the client's name (rate-limited by the connection). */
  logBad(message: string): void;
  /** Called once, when the loop has stopped reading and every started request has replied. */
  onEnd(reason: TransmissionEnd): void;
}

/** A WRITE whose payload is still arriving; `buf` is null when the payload is being discarded. */
interface PendingPayload {
  header: RequestHeader;
  buf: Buffer | null;
  remaining: number;
  errno: number;
  cause: string;
}

export class Transmission implements CommandContext {
  readonly backend: BlockBackend;
  readonly caps: BackendCapabilities;
  readonly replies: ReplyWriter;
  readonly baseAllocationId: number;
  private readonly input: NodeJS.ReadableStream;
  private readonly shape: ExportShape;
  private readonly maxInFlightBytes: number;
  private readonly why: Rejection = { cause: '' };
  private pending: Buffer = EMPTY;
  private payload: PendingPayload | null = null;
  private inFlight = 0;
  private heldBytes = 0;
  private parsing = false;
  private paused = false;
  private stopped = false;
  private endReason: TransmissionEnd | null = null;
  private ended = false;
  private readonly idleWaiters: Array<() => void> = [];
  /** `pending` is a view of a read buffer the socket will reuse: copy what must outlive parse(). */
  private pendingBorrowed = false;
  private readonly onData = (chunk: Buffer | string) => {
    this.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, false);
  };
  private readonly onDrain = () => this.maybeResume();

  constructor(private readonly opts: TransmissionOptions) {
    this.input = opts.input;
    this.replies = opts.replies;
    this.backend = opts.backend;
    this.caps = opts.backend.capabilities();
    this.shape = opts.shape;
    this.baseAllocationId = opts.baseAllocationId;
    this.maxInFlightBytes = opts.maxInFlightBytes;
  }

  /**
   * Starts reading; `leftover` holds request bytes that arrived with the end of the handshake.
   * With `fedByCaller` the input's bytes arrive through feed() (a socket reading into its own
   * reused buffer, socket-read-buffer.ts) instead of 'data' events.
   */
  start(leftover: Buffer, output: NodeJS.WritableStream, fedByCaller = false): void {
    output.on('drain', this.onDrain);
    if (!fedByCaller) this.input.on('data', this.onData);
    if (leftover.length > 0) this.feed(leftover, false);
    if (!this.paused && !this.stopped) this.input.resume();
  }

  /** Bytes from the client; a `borrowed` chunk is only valid during this call. */
  feed(chunk: Buffer, borrowed: boolean): void {
    if (this.stopped) return;
    if (this.pending.length === 0) {
      this.pending = chunk;
      this.pendingBorrowed = borrowed;
    } else {
      this.pending = Buffer.concat([this.pending, chunk]);
      this.pendingBorrowed = false;
    }
    this.parse();
  }

  /**
   * Where the socket's next read should land: the rest of a large WRITE payload being received,
   * so its bytes are not copied from the socket's buffer into it. Null: the socket's own buffer.
   */
  directReadTarget(): Buffer | null {
    const p = this.payload;
    if (!p?.buf || p.remaining < DIRECT_READ_MIN_BYTES || this.stopped) return null;
    return p.buf.subarray(p.buf.length - p.remaining);
  }

  /** Requests started and not yet replied to. */
  requestsInFlight(): number {
    return this.inFlight;
  }

  /** Resolves when no request is running on the backend (the export may then be released). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops reading new requests; onEnd('drained') follows when the started ones have replied. */
  drain(): void {
    this.stop('drained');
  }

  logFailure(message: string): void {
    this.opts.logBad(message);
  }

  requestDone(h: RequestHeader, payload: Buffer | null): void {
    if (payload) dataBuffers.give(payload);
    this.inFlight--;
    this.heldBytes -= costOf(h);
    if (this.stopped || this.inFlight === 0) this.maybeEnd();
    if (!this.stopped) this.maybeResume();
  }

  private parse(): void {
    if (this.parsing) return;
    this.parsing = true;
    const buf = this.pending;
    let at = 0;
    try {
      while (!this.stopped) {
        const p = this.payload;
        if (p) {
          const n = Math.min(p.remaining, buf.length - at);
          if (n === 0) break;
          // A read straight into the payload (directReadTarget) is where it belongs already.
          if (p.buf && !isAt(buf, at, p.buf, p.buf.length - p.remaining))
            buf.copy(p.buf, p.buf.length - p.remaining, at, at + n);
          at += n;
          p.remaining -= n;
          if (p.remaining > 0) break;
          this.payload = null;
          this.payloadComplete(p);
          continue;
        }
        if (buf.length - at < REQUEST_HEADER_SIZE) break;
        if (this.heldBytes + this.replies.queuedBytes() >= this.maxInFlightBytes) {
          this.pauseInput();
          break;
        }
        const h = decodeRequestHeader(buf, at);
        if (!h) {
          // "Bad request magic: hard disconnect": nothing after it can be framed.
          this.opts.logBad('bad request magic: disconnecting');
          this.stop('bad-magic');
          break;
        }
        at += REQUEST_HEADER_SIZE;
        if (h.type === Cmd.DISC) {
          this.stop('disconnect');
          break;
        }
        const errno = validateRequest(h, this.shape, this.why);
        if (h.type === Cmd.WRITE) {
          at = this.startWrite(h, errno, buf, at);
          continue;
        }
        if (errno !== 0) {
          this.refuse(h, errno, this.why.cause);
          continue;
        }
        this.admit(h);
        void handleCommand(this, h, null);
      }
    } finally {
      if (at >= buf.length) this.pending = EMPTY;
      else this.pending = this.pendingBorrowed ? Buffer.from(buf.subarray(at)) : buf.subarray(at);
      this.pendingBorrowed = false;
      this.parsing = false;
    }
  }

  /** Takes a WRITE's payload straight from the socket's buffer when it is all there (no copy). */
  private startWrite(h: RequestHeader, errno: number, buf: Buffer, at: number): number {
    if (errno === 0 && buf.length - at >= h.length) {
      this.admit(h);
      const view = buf.subarray(at, at + h.length);
      let payload = view;
      if (this.pendingBorrowed) {
        payload = dataBuffers.take(h.length);
        view.copy(payload);
      }
      void handleCommand(this, h, payload);
      return at + h.length;
    }
    if (errno === 0) this.admit(h);
    // A refused WRITE still consumes its payload, or its data would be parsed as requests.
    this.payload = {
      header: h,
      buf: errno === 0 ? dataBuffers.take(h.length) : null,
      remaining: h.length,
      errno,
      cause: errno === 0 ? '' : this.why.cause,
    };
    if (h.length === 0) {
      this.payload = null;
      this.refuse(h, errno, this.why.cause);
    }
    return at;
  }

  private payloadComplete(p: PendingPayload): void {
    if (p.errno !== 0) this.refuse(p.header, p.errno, p.cause);
    else void handleCommand(this, p.header, p.buf);
  }

  private refuse(h: RequestHeader, errno: number, cause: string): void {
    this.opts.logBad(`${commandName(h.type)} refused: ${cause} (errno ${errno})`);
    this.replies.sendError(h.cookie, errno, cause);
  }

  private admit(h: RequestHeader): void {
    this.inFlight++;
    this.heldBytes += costOf(h);
  }

  private pauseInput(): void {
    if (this.paused) return;
    this.paused = true;
    this.input.pause();
  }

  private maybeResume(): void {
    if (!this.paused || this.stopped) return;
    if (this.heldBytes + this.replies.queuedBytes() >= this.maxInFlightBytes / 2) return;
    this.paused = false;
    this.parse();
    if (!this.paused && !this.stopped) this.input.resume();
  }

  private stop(reason: TransmissionEnd): void {
    if (this.stopped) return;
    this.stopped = true;
    this.endReason = reason;
    this.input.removeListener('data', this.onData);
    this.input.pause();
    // A WRITE whose payload will never arrive was counted when its header came: uncount it.
    const p = this.payload;
    this.payload = null;
    if (p && p.errno === 0) {
      this.inFlight--;
      this.heldBytes -= costOf(p.header);
    }
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.inFlight === 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
    if (this.ended || this.endReason === null) return;
    // A bad magic ends at once (hard disconnect); anything else lets started requests reply first.
    if (this.inFlight > 0 && this.endReason !== 'bad-magic') return;
    this.ended = true;
    this.opts.onEnd(this.endReason);
  }
}

/** `a[at]` is the very byte `b[bAt]` (same memory). */
function isAt(a: Buffer, at: number, b: Buffer, bAt: number): boolean {
  return a.buffer === b.buffer && a.byteOffset + at === b.byteOffset + bAt;
}

function costOf(h: RequestHeader): number {
  return (h.type === Cmd.READ || h.type === Cmd.WRITE ? h.length : 0) + REQUEST_OVERHEAD;
}
