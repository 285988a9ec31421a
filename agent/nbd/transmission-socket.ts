// Faster reads for plain TCP transmission. A net.Socket reads at most 64 KiB per syscall into a
// fresh buffer each time: a 1 MiB WRITE is 16 reads, 16 stream events and 16 new buffers whose
// page faults showed as a third of the server's CPU. Node's `onread` option reads into one reused
// buffer of our size instead, but only for sockets constructed with it; so once the handshake is
// done, the connected handle moves into such a socket (as child_process does to pass handles).
// TLS and stdio streams keep the ordinary path.

import { Socket } from 'node:net';

/** Bytes one read() may return; the buffer is reused for every read of the connection. */
const READ_BUFFER_BYTES = 1024 * 1024;

interface HandleOwner {
  _handle?: { useUserBuffer?: unknown } | null;
}

export interface ReboundSocket {
  socket: Socket;
  /** Bytes the old socket had received but nobody had read yet: they come first. */
  buffered: Buffer;
}

/**
 * Moves `old`'s connected handle into a new socket whose reads land in one reused buffer and are
 * handed to `onChunk` (the chunk is only valid during the call). Returns null, leaving `old`
 * untouched, when this Node cannot do it. `old` must have no pending writes and no listeners left.
 */
export function rebindWithReadBuffer(old: Socket, onChunk: (chunk: Buffer) => void): ReboundSocket | null {
  const handle = (old as unknown as HandleOwner)._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || old.writableLength > 0) return null;
  old.pause();
  const parts: Buffer[] = [];
  for (let chunk = old.read() as Buffer | null; chunk !== null; chunk = old.read() as Buffer | null) {
    parts.push(chunk);
  }
  // Detach the handle first, so destroying the old socket (which settles the server's count of
  // connections) leaves the connection itself open.
  (old as unknown as HandleOwner)._handle = null;
  old.destroy();
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const socket = new Socket({
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer,
      callback: (bytes: number, buf: Uint8Array) => {
        onChunk((buf as Buffer).subarray(0, bytes));
        return true;
      },
    },
  } as ConstructorParameters<typeof Socket>[0]);
  return { socket, buffered: parts.length === 1 ? parts[0] : Buffer.concat(parts) };
}
