// Exact-length reads from a socket for the handshake, where messages are few and small. It never
// blocks: `read(n)` returns a promise that the socket's 'data' events fulfil. `detach()` hands back
// the bytes received but not consumed, so the caller can tell whether a peer sent too much (the
// STARTTLS injection check) and pass the rest on to the next reader.

import type { Duplex } from 'node:stream';

interface PendingRead {
  length: number;
  resolve: (data: Buffer) => void;
  reject: (err: Error) => void;
}

export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pending: PendingRead | null = null;
  private failure: Error | null = null;
  private readonly onData = (chunk: Buffer) => {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.settle();
  };
  private readonly onEnd = () => this.fail(new Error('the server closed the connection'));
  private readonly onError = (err: Error) => this.fail(err);

  constructor(private readonly socket: Duplex) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  read(length: number): Promise<Buffer> {
    if (this.pending) return Promise.reject(new Error('ByteReader: overlapping reads'));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { length, resolve, reject };
      this.settle();
    });
  }

  /** Stops listening; returns what was received and not read yet. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    const rest = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }

  /** Rejects the read in progress (and later ones), e.g. when the handshake times out. */
  fail(err: Error): void {
    if (!this.failure) this.failure = err;
    const p = this.pending;
    this.pending = null;
    p?.reject(this.failure);
  }

  private settle(): void {
    const p = this.pending;
    if (!p || this.buffered < p.length) return;
    this.pending = null;
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const out = all.subarray(0, p.length);
    const rest = all.subarray(p.length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    p.resolve(out);
  }
}
