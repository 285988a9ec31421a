// Newline-delimited framing of the control RPC over any byte stream (a local UNIX socket, an ssh2
// stream-local channel): one JSON text per line. A line longer than the limit closes the transport
// rather than growing a buffer without bound.
import type { Duplex } from 'node:stream';
import { MAX_RPC_LINE_BYTES } from '../../../shared/rpc/jsonrpc.js';
import type { RpcTransport } from './rpc-link.js';

export function lineTransport(stream: Duplex, maxLineBytes = 64 * MAX_RPC_LINE_BYTES): RpcTransport {
  const messageListeners: ((message: string) => void)[] = [];
  const closeListeners: ((err?: Error) => void)[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let closed = false;

  const finish = (err?: Error) => {
    if (closed) return;
    closed = true;
    for (const listener of closeListeners) listener(err);
  };

  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, nl));
      const line = Buffer.concat(pending).toString('utf8');
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      if (line.trim() !== '') for (const listener of messageListeners) listener(line);
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLineBytes) {
        stream.destroy();
        finish(new Error(`the agent sent a line longer than ${maxLineBytes} bytes`));
      }
    }
  });
  stream.on('error', (err: Error) => finish(err));
  stream.on('close', () => finish());
  stream.on('end', () => finish());

  return {
    send(message: string) {
      if (!closed) stream.write(`${message}\n`);
    },
    onMessage(listener) {
      messageListeners.push(listener);
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
    close() {
      stream.end();
      // A stream whose peer never closes is destroyed after a short grace.
      setTimeout(() => stream.destroy(), 1000).unref();
      finish();
    },
  };
}
