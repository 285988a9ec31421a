// Incremental parser of transmission replies ("Simple reply message", "Structured reply chunk
// message" in doc/proto.md). It is fed whatever a 'data' event brings, parses as many replies as the
// chunk holds, and copies READ data straight from the socket's chunk into the caller's buffer (no
// intermediate copy). Small chunk payloads (block status, errors, holes) are gathered first.
// Any protocol violation throws NbdProtocolError: the connection must then die, since the stream
// can no longer be trusted.

import { BackendError, type Extent } from '../../backend/block-backend.js';
import {
  isErrorChunk,
  ReplyFlag,
  ReplyType,
  readU64AsNumber,
  SIMPLE_REPLY_MAGIC,
  SIMPLE_REPLY_SIZE,
  STRUCTURED_HEADER_SIZE,
  STRUCTURED_REPLY_MAGIC,
} from '../wire.js';
import type { Command } from './command.js';
import { errnoName } from './errors.js';

export class NbdProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NbdProtocolError';
  }
}

export interface ReplySink {
  /** The in-flight command with this cookie, or undefined. */
  find(cookie: number): Command | undefined;
  /** The command's last reply arrived: take it out of flight and settle it. */
  complete(cmd: Command): void;
}

// Block status replies hold 8 bytes per extent; a server may describe a large range in one reply.
const MAX_SMALL_PAYLOAD = 16 * 1024 * 1024;

type Phase =
  | { kind: 'header' }
  | { kind: 'simple-data'; cmd: Command; at: number; end: number }
  | { kind: 'data-offset'; cmd: Command; dataLength: number; done: boolean }
  | { kind: 'data'; cmd: Command; at: number; end: number; done: boolean }
  | { kind: 'payload'; cmd: Command; type: number; done: boolean; length: number };

const HEADER: Phase = { kind: 'header' };

export class ReplyParser {
  private phase: Phase = HEADER;
  private readonly head = Buffer.allocUnsafe(STRUCTURED_HEADER_SIZE);
  private headHave = 0;
  private small = Buffer.allocUnsafe(4096);
  private smallHave = 0;

  constructor(
    private readonly sink: ReplySink,
    private readonly allocationContext: number | null,
  ) {}

  /** True when the parser sits between replies (used to tell a clean end from a cut one). */
  get idle(): boolean {
    return this.phase.kind === 'header' && this.headHave === 0;
  }

  feed(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      const p = this.phase;
      switch (p.kind) {
        case 'header':
          pos = this.readHeader(chunk, pos);
          break;
        case 'simple-data':
        case 'data': {
          const n = Math.min(p.end - p.at, len - pos);
          chunk.copy(p.cmd.into!, p.at, pos, pos + n);
          pos += n;
          p.at += n;
          if (p.at === p.end) {
            if (p.kind === 'simple-data') this.complete(p.cmd);
            else this.chunkDone(p.cmd, p.done);
          }
          break;
        }
        case 'data-offset':
        case 'payload': {
          const want = p.kind === 'data-offset' ? 8 : p.length;
          const n = Math.min(want - this.smallHave, len - pos);
          chunk.copy(this.small, this.smallHave, pos, pos + n);
          this.smallHave += n;
          pos += n;
          if (this.smallHave === want) {
            this.smallHave = 0;
            if (p.kind === 'data-offset') this.startData(p.cmd, p.dataLength, p.done);
            else this.handleSmallChunk(p.cmd, p.type, p.done, this.small.subarray(0, want));
          }
          break;
        }
      }
    }
  }

  private readHeader(chunk: Buffer, pos: number): number {
    let at = pos;
    const avail = chunk.length - pos;
    // Fast path: the whole header is in this chunk; parse it in place.
    if (this.headHave === 0 && avail >= 4) {
      const size = headerSize(chunk.readUInt32BE(pos));
      if (avail >= size) {
        this.parseHeader(chunk, pos);
        return pos + size;
      }
    }
    // Slow path: gather the header across chunks.
    const need0 = this.headHave < 4 ? 4 : headerSize(this.head.readUInt32BE(0));
    let n = Math.min(need0 - this.headHave, avail);
    chunk.copy(this.head, this.headHave, pos, pos + n);
    this.headHave += n;
    at = pos + n;
    if (this.headHave < 4) return at;
    const size = headerSize(this.head.readUInt32BE(0));
    n = Math.min(size - this.headHave, chunk.length - at);
    chunk.copy(this.head, this.headHave, at, at + n);
    this.headHave += n;
    at += n;
    if (this.headHave < size) return at;
    this.headHave = 0;
    this.parseHeader(this.head, 0);
    return at;
  }

  private parseHeader(buf: Buffer, at: number): void {
    const magic = buf.readUInt32BE(at);
    const cookie = buf.readUInt32BE(at + 8) * 0x100000000 + buf.readUInt32BE(at + 12);
    const cmd = this.sink.find(cookie);
    if (!cmd) throw new NbdProtocolError(`server replied to unknown cookie ${cookie}`);
    if (magic === SIMPLE_REPLY_MAGIC) {
      const errno = buf.readUInt32BE(at + 4);
      if (errno !== 0) {
        cmd.error ??= serverError(cmd, errno, '');
        this.complete(cmd);
      } else if (cmd.isRead && cmd.length > 0) {
        this.phase = { kind: 'simple-data', cmd, at: 0, end: cmd.length };
      } else {
        this.complete(cmd);
      }
      return;
    }
    const flags = buf.readUInt16BE(at + 4);
    const type = buf.readUInt16BE(at + 6);
    const length = buf.readUInt32BE(at + 16);
    const done = (flags & ReplyFlag.DONE) !== 0;
    if (type === ReplyType.OFFSET_DATA) {
      if (!cmd.isRead || length <= 8)
        throw new NbdProtocolError(`bad OFFSET_DATA chunk for ${cmd.describe()}`);
      this.phase = { kind: 'data-offset', cmd, dataLength: length - 8, done };
      return;
    }
    if (type === ReplyType.NONE) {
      if (length !== 0 || !done) throw new NbdProtocolError(`bad NONE chunk for ${cmd.describe()}`);
      this.chunkDone(cmd, true);
      return;
    }
    if (length > MAX_SMALL_PAYLOAD) {
      throw new NbdProtocolError(`reply chunk of ${length} bytes for ${cmd.describe()} is too long`);
    }
    if (length === 0) {
      this.handleSmallChunk(cmd, type, done, this.small.subarray(0, 0));
      return;
    }
    if (this.small.length < length) this.small = Buffer.allocUnsafe(length);
    this.phase = { kind: 'payload', cmd, type, done, length };
  }

  private startData(cmd: Command, dataLength: number, done: boolean): void {
    const offset = readU64AsNumber(this.small, 0);
    const start = offset - cmd.offset;
    if (start < 0 || start + dataLength > cmd.length) {
      throw new NbdProtocolError(`OFFSET_DATA chunk at ${offset} (+${dataLength}) outside ${cmd.describe()}`);
    }
    cmd.covered += dataLength;
    this.phase = { kind: 'data', cmd, at: start, end: start + dataLength, done };
  }

  private handleSmallChunk(cmd: Command, type: number, done: boolean, data: Buffer): void {
    if (type === ReplyType.OFFSET_HOLE) {
      if (!cmd.isRead || data.length !== 12)
        throw new NbdProtocolError(`bad OFFSET_HOLE chunk for ${cmd.describe()}`);
      const start = readU64AsNumber(data, 0) - cmd.offset;
      const holeLength = data.readUInt32BE(8);
      if (start < 0 || holeLength === 0 || start + holeLength > cmd.length) {
        throw new NbdProtocolError(`OFFSET_HOLE chunk outside ${cmd.describe()}`);
      }
      cmd.into!.fill(0, start, start + holeLength);
      cmd.covered += holeLength;
    } else if (type === ReplyType.BLOCK_STATUS) {
      this.blockStatus(cmd, data);
    } else if (isErrorChunk(type)) {
      if (data.length < 6) throw new NbdProtocolError(`short error chunk for ${cmd.describe()}`);
      const messageLength = data.readUInt16BE(4);
      if (6 + messageLength > data.length)
        throw new NbdProtocolError(`bad error chunk for ${cmd.describe()}`);
      const message = data.toString('utf8', 6, 6 + messageLength);
      cmd.error ??= serverError(cmd, data.readUInt32BE(0), message);
    } else {
      throw new NbdProtocolError(`unknown reply chunk type ${type} for ${cmd.describe()}`);
    }
    this.chunkDone(cmd, done);
  }

  private blockStatus(cmd: Command, data: Buffer): void {
    if (data.length < 12 || (data.length - 4) % 8 !== 0) {
      throw new NbdProtocolError(`bad BLOCK_STATUS chunk for ${cmd.describe()}`);
    }
    const context = data.readUInt32BE(0);
    if (context !== this.allocationContext) return; // a context we did not ask for: ignore it
    const extents: Extent[] = cmd.extents ?? [];
    for (let at = 4; at < data.length; at += 8) {
      extents.push({ length: data.readUInt32BE(at), flags: data.readUInt32BE(at + 4) });
    }
    cmd.extents = extents;
  }

  private chunkDone(cmd: Command, done: boolean): void {
    this.phase = HEADER;
    if (!done) return;
    if (cmd.isRead && !cmd.error && cmd.covered !== cmd.length) {
      throw new NbdProtocolError(`server sent ${cmd.covered} of ${cmd.length} bytes for ${cmd.describe()}`);
    }
    this.sink.complete(cmd);
  }

  private complete(cmd: Command): void {
    this.phase = HEADER;
    this.sink.complete(cmd);
  }
}

function headerSize(magic: number): number {
  if (magic === SIMPLE_REPLY_MAGIC) return SIMPLE_REPLY_SIZE;
  if (magic === STRUCTURED_REPLY_MAGIC) return STRUCTURED_HEADER_SIZE;
  throw new NbdProtocolError(`bad reply magic 0x${magic.toString(16)}`);
}

function serverError(cmd: Command, errno: number, message: string): BackendError {
  const name = errnoName(errno);
  return new BackendError(
    name,
    `server failed ${cmd.describe()} with ${name}${message ? `: ${message}` : ''}`,
  );
}
