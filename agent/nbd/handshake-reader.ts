// Pull-style reads of exact byte counts from a stream, for the handshake: the option loop is easier
// to read as "await read(16)" than as a push parser. Transmission uses its own push parser
// (transmission-parser.ts) because it is the hot path; `detach()` hands the leftover bytes over.

export class StreamClosedError extends Error {
  constructor(message = 'the client closed the connection') {
    super(message);
    this.name = 'StreamClosedError';
  }
}

/** Largest option (1 MiB, see handshake-newstyle.ts) plus one socket read. */
const HANDSHAKE_HIGH_WATER = 1024 * 1024 + 64 * 1024;

interface PendingRead {
  size: number;
  resolve(buf: Buffer): void;
  reject(err: Error): void;
}

export class HandshakeReader {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private pending: PendingRead | null = null;
  private paused = false;
  private ended: Error | null = null;
  private readonly onData = (chunk: Buffer | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(buf);
    this.bufferedBytes += buf.length;
    this.settle();
    // A client that sends far ahead of the option it is in is slowed, not buffered without bound.
    if (this.bufferedBytes > HANDSHAKE_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.input.pause();
    }
  };
  private readonly onEnd = () => this.fail(new StreamClosedError());
  private readonly onError = (err: Error) =>
    this.fail(new StreamClosedError(`connection error: ${err.message}`));

  constructor(private readonly input: NodeJS.ReadableStream) {
    input.on('data', this.onData);
    input.on('end', this.onEnd);
    input.on('close', this.onEnd);
    input.on('error', this.onError);
    input.resume();
  }

  /** Bytes received but not yet consumed. */
  buffered(): number {
    return this.bufferedBytes;
  }

  /** Resolves with exactly `size` bytes; rejects with StreamClosedError if the stream ends first. */
  read(size: number): Promise<Buffer> {
    if (this.pending) return Promise.reject(new Error('HandshakeReader: concurrent read'));
    if (size === 0) return Promise.resolve(Buffer.alloc(0));
    return new Promise((resolve, reject) => {
      this.pending = { size, resolve, reject };
      this.settle();
      if (this.paused && this.pending) {
        this.paused = false;
        this.input.resume();
      }
    });
  }

  /** Ends reading with an error (timeout, shutdown): the pending read rejects. */
  fail(err: Error): void {
    if (!this.ended) this.ended = err;
    this.settle();
  }

  /** Stops listening and returns the bytes not consumed yet (the start of the next phase). */
  detach(): Buffer {
    this.input.removeListener('data', this.onData);
    this.input.removeListener('end', this.onEnd);
    this.input.removeListener('close', this.onEnd);
    this.input.removeListener('error', this.onError);
    this.input.pause();
    const rest = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [];
    this.bufferedBytes = 0;
    return rest ?? Buffer.alloc(0);
  }

  private settle(): void {
    const pending = this.pending;
    if (!pending) return;
    if (this.bufferedBytes >= pending.size) {
      this.pending = null;
      pending.resolve(this.take(pending.size));
    } else if (this.ended) {
      this.pending = null;
      pending.reject(this.ended);
    }
  }

  private take(size: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= size) {
      this.bufferedBytes -= size;
      if (first.length === size) this.chunks.shift();
      else this.chunks[0] = first.subarray(size);
      return first.subarray(0, size);
    }
    const all = Buffer.concat(this.chunks);
    this.chunks = all.length > size ? [all.subarray(size)] : [];
    this.bufferedBytes -= size;
    return all.subarray(0, size);
  }
}
