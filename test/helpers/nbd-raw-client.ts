// A deliberately dumb NBD client on a raw socket, for sending malformed handshakes and requests
// and reading exactly what the server answers. Every read has a timeout so a test never hangs.

import { connect, type Socket } from 'node:net';
import {
  CLIENT_FLAG_FIXED_NEWSTYLE,
  CLIENT_FLAG_NO_ZEROES,
  decodeReplyHeader,
  encodeOption,
  encodeRequestHeader,
  OPTION_REPLY_HEADER_SIZE,
  Opt,
  Rep,
  type ReplyHeader,
  SIMPLE_REPLY_SIZE,
  STRUCTURED_HEADER_SIZE,
  STRUCTURED_REPLY_MAGIC,
} from '../../agent/nbd/wire.js';

export interface OptionReply {
  option: number;
  type: number;
  data: Buffer;
}

export interface Reply extends ReplyHeader {
  /** Structured chunk payload (empty for simple replies). */
  payload: Buffer;
}

export class RawNbdClient {
  private buffered = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended = false;
  readonly closed: Promise<void>;

  /** `input`/`output` are the same socket for TCP, or a child's stdout/stdin for stdio mode. */
  constructor(
    readonly input: NodeJS.ReadableStream,
    readonly output: NodeJS.WritableStream = input as unknown as NodeJS.WritableStream,
  ) {
    input.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.waiter?.();
    });
    input.on('error', () => {});
    output.on('error', () => {});
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.ended = true;
        this.waiter?.();
        resolve();
      };
      input.once('close', done);
      input.once('end', done);
    });
  }

  get socket(): Socket {
    return this.input as Socket;
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawNbdClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      socket.once('connect', () => resolve(new RawNbdClient(socket)));
      socket.setNoDelay(true);
      socket.once('error', reject);
    });
  }

  write(buf: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.ended) return resolve();
      this.output.write(buf, () => resolve());
    });
  }

  /** Exactly n bytes; rejects when the server closes first or after timeoutMs. */
  async read(n: number, timeoutMs = 5_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered.length < n) {
      if (this.ended)
        throw new Error(`server closed the connection (wanted ${n} bytes, had ${this.buffered.length})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} bytes (had ${this.buffered.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  /** Resolves true if the server closes the connection within timeoutMs. */
  async closedWithin(timeoutMs = 5_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.closed.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** Reads the greeting and sends the client flags (fixed newstyle + no zeroes by default). */
  async greet(flags = CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES): Promise<number> {
    const greeting = await this.read(18);
    const f = Buffer.alloc(4);
    f.writeUInt32BE(flags >>> 0);
    await this.write(f);
    return greeting.readUInt16BE(16);
  }

  sendOption(option: number, data: Buffer = Buffer.alloc(0)): Promise<void> {
    return this.write(encodeOption(option, data));
  }

  async readOptionReply(): Promise<OptionReply> {
    const h = await this.read(OPTION_REPLY_HEADER_SIZE);
    const length = h.readUInt32BE(16);
    return { option: h.readUInt32BE(8), type: h.readUInt32BE(12), data: await this.read(length) };
  }

  /** Reads option replies up to and including the final one (ACK or an error). */
  async readOptionReplies(): Promise<OptionReply[]> {
    const replies: OptionReply[] = [];
    for (;;) {
      const r = await this.readOptionReply();
      replies.push(r);
      if (r.type === Rep.ACK || r.type >= 0x80000000) return replies;
    }
  }

  /** STRUCTURED_REPLY (optional), SET_META_CONTEXT base:allocation (optional), then GO. */
  async handshake(
    name: string,
    opts: { structured?: boolean; meta?: boolean } = {},
  ): Promise<{ size: number; flags: number }> {
    await this.greet();
    if (opts.structured) {
      await this.sendOption(Opt.STRUCTURED_REPLY);
      await this.readOptionReplies();
    }
    if (opts.meta) {
      await this.sendOption(Opt.SET_META_CONTEXT, metaContextData(name, ['base:allocation']));
      await this.readOptionReplies();
    }
    await this.sendOption(Opt.GO, goData(name));
    const replies = await this.readOptionReplies();
    const last = replies[replies.length - 1];
    if (last.type !== Rep.ACK) throw new Error(`GO failed: reply type 0x${last.type.toString(16)}`);
    const info = replies.find((r) => r.type === Rep.INFO && r.data.readUInt16BE(0) === 0);
    if (!info) throw new Error('GO: no NBD_INFO_EXPORT');
    return { size: Number(info.data.readBigUInt64BE(2)), flags: info.data.readUInt16BE(10) };
  }

  sendRequest(
    type: number,
    opts: { flags?: number; cookie?: bigint; offset?: number; length?: number } = {},
  ) {
    return this.write(
      encodeRequestHeader({
        type,
        flags: opts.flags ?? 0,
        cookie: opts.cookie ?? 1n,
        offset: opts.offset ?? 0,
        length: opts.length ?? 0,
      }),
    );
  }

  /** Reads one simple reply or one structured chunk (with its payload). */
  async readReply(timeoutMs?: number): Promise<Reply> {
    const magic = (await this.peek(4, timeoutMs)).readUInt32BE(0);
    const size = magic === STRUCTURED_REPLY_MAGIC ? STRUCTURED_HEADER_SIZE : SIMPLE_REPLY_SIZE;
    const header = decodeReplyHeader(await this.read(size, timeoutMs));
    if (!header) throw new Error(`bad reply magic 0x${magic.toString(16)}`);
    return {
      ...header,
      payload: header.structured ? await this.read(header.length, timeoutMs) : Buffer.alloc(0),
    };
  }

  end(): void {
    this.output.end();
  }

  destroy(): void {
    (this.input as Socket).destroy();
    if ((this.output as unknown) !== this.input) (this.output as unknown as Socket).destroy();
  }

  private async peek(n: number, timeoutMs?: number): Promise<Buffer> {
    const head = await this.read(n, timeoutMs);
    this.buffered = Buffer.concat([head, this.buffered]);
    return head;
  }
}

/** NBD_OPT_GO / INFO payload. */
export function goData(name: string, infoRequests: number[] = []): Buffer {
  const nameBytes = Buffer.from(name);
  const buf = Buffer.alloc(4 + nameBytes.length + 2 + 2 * infoRequests.length);
  buf.writeUInt32BE(nameBytes.length, 0);
  nameBytes.copy(buf, 4);
  buf.writeUInt16BE(infoRequests.length, 4 + nameBytes.length);
  for (const [i, r] of infoRequests.entries()) buf.writeUInt16BE(r, 6 + nameBytes.length + 2 * i);
  return buf;
}

/** NBD_OPT_LIST/SET_META_CONTEXT payload. */
export function metaContextData(name: string, queries: string[]): Buffer {
  const parts = [Buffer.alloc(4), Buffer.from(name), Buffer.alloc(4)];
  parts[0].writeUInt32BE(parts[1].length);
  parts[2].writeUInt32BE(queries.length);
  for (const q of queries) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(Buffer.byteLength(q));
    parts.push(len, Buffer.from(q));
  }
  return Buffer.concat(parts);
}
