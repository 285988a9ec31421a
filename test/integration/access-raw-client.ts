// A raw NBD client for the access tests: negotiates from a chosen local address (127.0.0.2 is another
// loopback host to the agent) and exposes the raw replies (ERR_POLICY, LIST entries, flags, EPERM).
import net from 'node:net';
import {
  CLIENT_FLAG_FIXED_NEWSTYLE,
  CLIENT_FLAG_NO_ZEROES,
  Cmd,
  encodeLengthPrefixed,
  encodeOption,
  encodeRequestHeader,
  Opt,
  Rep,
} from '../../agent/nbd/wire.js';

/** Just enough of an NBD client to negotiate from a chosen local address and see raw replies. */
export class RawNbd {
  private static readonly opened = new Set<RawNbd>();

  private buffered = Buffer.alloc(0);
  private waiting?: () => void;
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.waiting?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, localAddress: string): Promise<RawNbd> {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawNbd(socket);
    RawNbd.opened.add(c);
    await c.read(18); // NBDMAGIC, IHAVEOPT, handshake flags
    socket.write(Buffer.from([0, 0, 0, CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES]));
    return c;
  }

  async read(n: number): Promise<Buffer> {
    while (this.buffered.length < n) {
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  private async reply(): Promise<{ type: number; data: Buffer }> {
    const header = await this.read(20);
    const data = await this.read(header.readUInt32BE(16));
    return { type: header.readUInt32BE(12), data };
  }

  async list(): Promise<string[]> {
    this.socket.write(encodeOption(Opt.LIST));
    const names: string[] = [];
    for (;;) {
      const { type, data } = await this.reply();
      if (type === Rep.ACK) return names;
      if (type !== Rep.SERVER) throw new Error(`LIST answered with reply type ${type}`);
      names.push(data.subarray(4, 4 + data.readUInt32BE(0)).toString('utf8'));
    }
  }

  /** NBD_OPT_GO: the error reply type and message, or the export's transmission flags. */
  async go(name: string): Promise<{ error?: number; message?: string; flags?: number }> {
    this.socket.write(encodeOption(Opt.GO, Buffer.concat([encodeLengthPrefixed(name), Buffer.alloc(2)])));
    let flags: number | undefined;
    for (;;) {
      const { type, data } = await this.reply();
      if (type === Rep.ACK) return { flags };
      if (type >= 0x80000000) return { error: type, message: data.toString('utf8') };
      if (type === Rep.INFO && data.readUInt16BE(0) === 0) flags = data.readUInt16BE(10);
    }
  }

  /** One NBD_CMD_WRITE in transmission (simple replies): resolves with the reply's errno. */
  async write(offset: number, data: Buffer): Promise<number> {
    const header = encodeRequestHeader({
      flags: 0,
      type: Cmd.WRITE,
      cookie: 7n,
      offset,
      length: data.length,
    });
    this.socket.write(Buffer.concat([header, data]));
    const reply = await this.read(16);
    return reply.readUInt32BE(4);
  }

  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
    RawNbd.opened.delete(this);
  }

  /** Test teardown: every connection still open. */
  static closeAll(): void {
    for (const c of RawNbd.opened) c.close();
  }
}
