// The NBD wire format (NetworkBlockDevice/nbd doc/proto.md): magics, numbers, and the
// encoders/decoders of fixed-size headers. Shared by the server, the client and the tests, so the
// protocol's numbers live in exactly one place. All integers are big-endian.

export const NBD_MAGIC = 0x4e42444d41474943n; // "NBDMAGIC"
export const IHAVEOPT = 0x49484156454f5054n; // "IHAVEOPT"
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

// "Newstyle negotiation": handshake flags (server) and client flags.
export const FLAG_FIXED_NEWSTYLE = 1 << 0;
export const FLAG_NO_ZEROES = 1 << 1;
export const CLIENT_FLAG_FIXED_NEWSTYLE = 1 << 0;
export const CLIENT_FLAG_NO_ZEROES = 1 << 1;

export const Opt = {
  EXPORT_NAME: 1,
  ABORT: 2,
  LIST: 3,
  PEEK_EXPORT: 4,
  STARTTLS: 5,
  INFO: 6,
  GO: 7,
  STRUCTURED_REPLY: 8,
  LIST_META_CONTEXT: 9,
  SET_META_CONTEXT: 10,
  EXTENDED_HEADERS: 11,
} as const;

const REP_ERR = 0x80000000;
export const Rep = {
  ACK: 1,
  SERVER: 2,
  INFO: 3,
  META_CONTEXT: 4,
  ERR_UNSUP: REP_ERR + 1,
  ERR_POLICY: REP_ERR + 2,
  ERR_INVALID: REP_ERR + 3,
  ERR_PLATFORM: REP_ERR + 4,
  ERR_TLS_REQD: REP_ERR + 5,
  ERR_UNKNOWN: REP_ERR + 6,
  ERR_SHUTDOWN: REP_ERR + 7,
  ERR_BLOCK_SIZE_REQD: REP_ERR + 8,
  ERR_TOO_BIG: REP_ERR + 9,
  ERR_EXT_HEADER_REQD: REP_ERR + 10,
} as const;

export function isErrorReply(type: number): boolean {
  return type >= REP_ERR;
}

export const Info = { EXPORT: 0, NAME: 1, DESCRIPTION: 2, BLOCK_SIZE: 3 } as const;

// Transmission flags ("Transmission flags" section).
export const TxFlag = {
  HAS_FLAGS: 1 << 0,
  READ_ONLY: 1 << 1,
  SEND_FLUSH: 1 << 2,
  SEND_FUA: 1 << 3,
  ROTATIONAL: 1 << 4,
  SEND_TRIM: 1 << 5,
  SEND_WRITE_ZEROES: 1 << 6,
  SEND_DF: 1 << 7,
  CAN_MULTI_CONN: 1 << 8,
  SEND_RESIZE: 1 << 9,
  SEND_CACHE: 1 << 10,
  SEND_FAST_ZERO: 1 << 11,
  BLOCK_STAT_PAYLOAD: 1 << 12,
} as const;

export const Cmd = {
  READ: 0,
  WRITE: 1,
  DISC: 2,
  FLUSH: 3,
  TRIM: 4,
  CACHE: 5,
  WRITE_ZEROES: 6,
  BLOCK_STATUS: 7,
  RESIZE: 8,
} as const;

export const CmdFlag = {
  FUA: 1 << 0,
  NO_HOLE: 1 << 1,
  DF: 1 << 2,
  REQ_ONE: 1 << 3,
  FAST_ZERO: 1 << 4,
  PAYLOAD_LEN: 1 << 5,
} as const;

export const ReplyFlag = { DONE: 1 } as const;

export const ReplyType = {
  NONE: 0,
  OFFSET_DATA: 1,
  OFFSET_HOLE: 2,
  BLOCK_STATUS: 5,
  ERROR: (1 << 15) + 1,
  ERROR_OFFSET: (1 << 15) + 2,
} as const;

export function isErrorChunk(type: number): boolean {
  return (type & (1 << 15)) !== 0;
}

// errno values that go on the wire ("Error values").
export const NbdErrno = {
  EPERM: 1,
  EIO: 5,
  ENOMEM: 12,
  EINVAL: 22,
  ENOSPC: 28,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  ESHUTDOWN: 108,
} as const;
export type NbdErrnoName = keyof typeof NbdErrno;

// base:allocation extent flags.
export const STATE_HOLE = 1 << 0;
export const STATE_ZERO = 1 << 1;
export const BASE_ALLOCATION = 'base:allocation';

export const REQUEST_HEADER_SIZE = 28;
export const SIMPLE_REPLY_SIZE = 16;
export const STRUCTURED_HEADER_SIZE = 20;
export const OPTION_HEADER_SIZE = 16; // IHAVEOPT + option + length
export const OPTION_REPLY_HEADER_SIZE = 20;

export const MAX_STRING = 4096; // export names, descriptions, context names ("Strings")
export const MAX_PAYLOAD = 32 * 1024 * 1024; // largest READ/WRITE Ferry serves or sends

export interface RequestHeader {
  flags: number;
  type: number;
  /** The client's opaque 8-byte handle, kept as a bigint so it can key a Map. */
  cookie: bigint;
  /** Exact when below 2^53; larger values stay larger than any export, so range checks hold. */
  offset: number;
  length: number;
}

/** Reads a 64-bit unsigned integer as a number; values past 2^53 round but stay past any size. */
export function readU64AsNumber(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * 0x100000000 + buf.readUInt32BE(at + 4);
}

export function writeU64FromNumber(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32BE(Math.floor(value / 0x100000000), at);
  buf.writeUInt32BE(value >>> 0, at + 4);
}

/** Decodes a request header; returns null when the magic is wrong (the caller must hang up). */
export function decodeRequestHeader(buf: Buffer, at = 0): RequestHeader | null {
  if (buf.readUInt32BE(at) !== REQUEST_MAGIC) return null;
  return {
    flags: buf.readUInt16BE(at + 4),
    type: buf.readUInt16BE(at + 6),
    cookie: buf.readBigUInt64BE(at + 8),
    offset: readU64AsNumber(buf, at + 16),
    length: buf.readUInt32BE(at + 24),
  };
}

export function encodeRequestHeader(h: RequestHeader, buf = Buffer.allocUnsafe(REQUEST_HEADER_SIZE), at = 0) {
  buf.writeUInt32BE(REQUEST_MAGIC, at);
  buf.writeUInt16BE(h.flags, at + 4);
  buf.writeUInt16BE(h.type, at + 6);
  buf.writeBigUInt64BE(h.cookie, at + 8);
  writeU64FromNumber(buf, h.offset, at + 16);
  buf.writeUInt32BE(h.length >>> 0, at + 24);
  return buf;
}

export function encodeSimpleReply(
  cookie: bigint,
  errno: number,
  buf = Buffer.allocUnsafe(SIMPLE_REPLY_SIZE),
) {
  buf.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
  buf.writeUInt32BE(errno, 4);
  buf.writeBigUInt64BE(cookie, 8);
  return buf;
}

export function encodeStructuredHeader(
  cookie: bigint,
  flags: number,
  type: number,
  length: number,
  buf = Buffer.allocUnsafe(STRUCTURED_HEADER_SIZE),
  at = 0,
) {
  buf.writeUInt32BE(STRUCTURED_REPLY_MAGIC, at);
  buf.writeUInt16BE(flags, at + 4);
  buf.writeUInt16BE(type, at + 6);
  buf.writeBigUInt64BE(cookie, at + 8);
  buf.writeUInt32BE(length, at + 16);
  return buf;
}

export interface ReplyHeader {
  structured: boolean;
  /** Simple replies: the error. Structured: the chunk's flags. */
  errorOrFlags: number;
  type: number;
  cookie: bigint;
  length: number;
}

/** Decodes the start of a reply: 16 bytes for simple, 20 for structured; null for a bad magic. */
export function replyHeaderSize(buf: Buffer, at = 0): number | null {
  const magic = buf.readUInt32BE(at);
  if (magic === SIMPLE_REPLY_MAGIC) return SIMPLE_REPLY_SIZE;
  if (magic === STRUCTURED_REPLY_MAGIC) return STRUCTURED_HEADER_SIZE;
  return null;
}

export function decodeReplyHeader(buf: Buffer, at = 0): ReplyHeader | null {
  const magic = buf.readUInt32BE(at);
  if (magic === SIMPLE_REPLY_MAGIC) {
    return {
      structured: false,
      errorOrFlags: buf.readUInt32BE(at + 4),
      type: 0,
      cookie: buf.readBigUInt64BE(at + 8),
      length: 0,
    };
  }
  if (magic === STRUCTURED_REPLY_MAGIC) {
    return {
      structured: true,
      errorOrFlags: buf.readUInt16BE(at + 4),
      type: buf.readUInt16BE(at + 6),
      cookie: buf.readBigUInt64BE(at + 8),
      length: buf.readUInt32BE(at + 16),
    };
  }
  return null;
}

export function encodeOption(option: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const buf = Buffer.allocUnsafe(OPTION_HEADER_SIZE + data.length);
  buf.writeBigUInt64BE(IHAVEOPT, 0);
  buf.writeUInt32BE(option, 8);
  buf.writeUInt32BE(data.length, 12);
  data.copy(buf, OPTION_HEADER_SIZE);
  return buf;
}

export function encodeOptionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const buf = Buffer.allocUnsafe(OPTION_REPLY_HEADER_SIZE + data.length);
  buf.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0);
  buf.writeUInt32BE(option, 8);
  buf.writeUInt32BE(type >>> 0, 12);
  buf.writeUInt32BE(data.length, 16);
  data.copy(buf, OPTION_REPLY_HEADER_SIZE);
  return buf;
}

/** A length-prefixed string as options carry them (u32 length + UTF-8 bytes). */
export function encodeLengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const buf = Buffer.allocUnsafe(4 + bytes.length);
  buf.writeUInt32BE(bytes.length, 0);
  bytes.copy(buf, 4);
  return buf;
}

export function commandName(type: number): string {
  for (const [name, value] of Object.entries(Cmd)) if (value === type) return name;
  return `UNKNOWN(${type})`;
}

export function optionName(option: number): string {
  for (const [name, value] of Object.entries(Opt)) if (value === option) return name;
  return `UNKNOWN(${option})`;
}
