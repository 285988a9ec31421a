// Encodes transmission replies ("Simple reply message", "Structured reply chunk message") and puts
// each on the wire with a single write. Replies finished in the same turn of the event loop are
// corked together and leave in one writev() when the turn ends, so a burst of completions costs one
// syscall instead of one each.

import type { Extent } from '../backend/block-backend.js';
import { dataBuffers } from './transmission-buffers.js';
import {
  encodeSimpleReply,
  encodeStructuredHeader,
  MAX_STRING,
  ReplyFlag,
  ReplyType,
  SIMPLE_REPLY_SIZE,
  STRUCTURED_HEADER_SIZE,
} from './wire.js';

/** READ replies this large come from the shared pool and go back to it (transmission-buffers.ts). */
const RECYCLE_MIN_BYTES = 128 * 1024;

/** Bytes in front of the data of a READ reply: structured header + offset, or the simple header. */
const STRUCTURED_READ_PREFIX = STRUCTURED_HEADER_SIZE + 8;

type CorkableWritable = NodeJS.WritableStream & {
  cork?: () => void;
  uncork?: () => void;
  writableLength?: number;
};

export class ReplyWriter {
  private corked = false;
  private closed = false;
  private readonly uncorkSoon = () => {
    this.corked = false;
    if (!this.closed) this.out.uncork?.();
  };

  constructor(
    private readonly out: CorkableWritable,
    readonly structured: boolean,
  ) {}

  /** Bytes handed to the stream and not yet flushed to the kernel (backpressure input). */
  queuedBytes(): number {
    return this.out.writableLength ?? 0;
  }

  /** After this, writes are dropped (the connection is gone). */
  close(): void {
    this.closed = true;
  }

  /** Header size in front of READ data: the data goes at `buf.subarray(readPrefix)`. */
  get readPrefix(): number {
    return this.structured ? STRUCTURED_READ_PREFIX : SIMPLE_REPLY_SIZE;
  }

  /** One buffer for a whole READ reply: the backend reads into its tail, no copy afterwards. */
  allocRead(length: number): Buffer<ArrayBuffer> {
    return dataBuffers.take(this.readPrefix + length);
  }

  /** Returns a buffer from allocRead() that will not be sent (the read failed). */
  discardRead(buf: Buffer): void {
    dataBuffers.give(buf);
  }

  /** Sends a READ reply built by allocRead() once its data part is filled. */
  sendRead(cookie: bigint, buf: Buffer<ArrayBuffer>, offset: number): void {
    if (this.structured) {
      const length = buf.length - STRUCTURED_HEADER_SIZE;
      encodeStructuredHeader(cookie, ReplyFlag.DONE, ReplyType.OFFSET_DATA, length, buf, 0);
      buf.writeUInt32BE(Math.floor(offset / 0x100000000), STRUCTURED_HEADER_SIZE);
      buf.writeUInt32BE(offset >>> 0, STRUCTURED_HEADER_SIZE + 4);
    } else {
      encodeSimpleReply(cookie, 0, buf);
    }
    // Large buffers go back to the pool once the stream is done with them.
    this.write(buf, buf.length >= RECYCLE_MIN_BYTES ? () => dataBuffers.give(buf) : undefined);
  }

  /** Success without payload: a simple reply is allowed for every command but READ. */
  sendOk(cookie: bigint): void {
    this.write(encodeSimpleReply(cookie, 0));
  }

  /** A zero-length READ: nothing to send but the end of the reply. */
  sendEmptyRead(cookie: bigint): void {
    if (!this.structured) {
      this.sendOk(cookie);
      return;
    }
    this.write(encodeStructuredHeader(cookie, ReplyFlag.DONE, ReplyType.NONE, 0));
  }

  /**
   * An error reply. With structured replies it is an ERROR chunk carrying a message for the human
   * behind the client (required for READ, preferred for the rest by the spec).
   */
  sendError(cookie: bigint, errno: number, message: string): void {
    if (!this.structured) {
      this.write(encodeSimpleReply(cookie, errno));
      return;
    }
    const text = truncateUtf8(message, MAX_STRING);
    const buf = Buffer.allocUnsafe(STRUCTURED_HEADER_SIZE + 6 + text.length);
    encodeStructuredHeader(cookie, ReplyFlag.DONE, ReplyType.ERROR, 6 + text.length, buf, 0);
    buf.writeUInt32BE(errno, STRUCTURED_HEADER_SIZE);
    buf.writeUInt16BE(text.length, STRUCTURED_HEADER_SIZE + 4);
    text.copy(buf, STRUCTURED_HEADER_SIZE + 6);
    this.write(buf);
  }

  /** One BLOCK_STATUS chunk (one context, extents already checked non-empty) as the whole reply. */
  sendBlockStatus(cookie: bigint, contextId: number, extents: readonly Extent[]): void {
    const payload = 4 + 8 * extents.length;
    const buf = Buffer.allocUnsafe(STRUCTURED_HEADER_SIZE + payload);
    encodeStructuredHeader(cookie, ReplyFlag.DONE, ReplyType.BLOCK_STATUS, payload, buf, 0);
    buf.writeUInt32BE(contextId, STRUCTURED_HEADER_SIZE);
    let at = STRUCTURED_HEADER_SIZE + 4;
    for (const extent of extents) {
      buf.writeUInt32BE(extent.length, at);
      buf.writeUInt32BE(extent.flags, at + 4);
      at += 8;
    }
    this.write(buf);
  }

  private write(buf: Buffer, done?: () => void): void {
    if (this.closed) {
      done?.();
      return;
    }
    if (!this.corked && this.out.cork) {
      this.corked = true;
      this.out.cork();
      setImmediate(this.uncorkSoon);
    }
    if (done) this.out.write(buf, done);
    else this.out.write(buf);
  }
}

function truncateUtf8(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return bytes;
  // Cut on a character boundary: back off over UTF-8 continuation bytes (10xxxxxx).
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
