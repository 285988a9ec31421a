// Reads of a connected socket into one reused buffer. By default a net.Socket reads at most 64 KiB
// per syscall into a fresh buffer, and a TLSSocket hands over every decrypted record (16 KiB) in a
// fresh buffer: a 1 MiB WRITE is 16 or 64 new ArrayBuffers. Their page faults showed as a third of
// a plain server's CPU; over TLS-PSK the external memory they add set off a mark-compact GC every
// ~35 MB received (17% of the receiving agent's CPU during a move, perf). Node's `onread` option
// reads into one buffer of our own instead, but it is only taken by the constructor of a socket;
// so this fills the same slots of a socket that exists already (a TLSSocket made over the
// handshake's plaintext socket, or a server's accepted socket).

import type { Socket } from 'node:net';

interface StreamHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

/**
 * Where `socket` keeps its `onread` buffer and callback: symbols private to Node's net module, which
 * every net.Socket (a TLSSocket too) sets to null in its constructor, next to a buffer generator.
 * Null when they are not there or already in use.
 */
function onreadSlots(socket: Socket): { buffer: symbol; callback: symbol; generator: symbol } | null {
  const own = Object.getOwnPropertySymbols(socket);
  const named = (name: string) => own.find((s) => s.description === name);
  const buffer = named('kBuffer');
  const callback = named('kBufferCb');
  const generator = named('kBufferGen');
  if (!buffer || !callback || !generator) return null;
  const fields = socket as unknown as Record<symbol, unknown>;
  if (fields[buffer] != null || fields[callback] != null || fields[generator] != null) return null;
  return { buffer, callback, generator };
}

/**
 * From now on `socket`'s bytes land in one buffer of `bytes`, reused for every read, and go to
 * `onChunk` (a chunk is only valid during the call). After each chunk, `nextTarget` may name where
 * the next read should land instead (the rest of a request's payload, which then needs no copy;
 * that read returns at most its length). Returns what the socket had received but nobody had read
 * yet (to be handled first), or null, leaving the socket as it was, when this Node cannot do it.
 * Pausing and resuming the socket still stop and start its reads.
 */
export function readIntoReusedBuffer(
  socket: Socket,
  bytes: number,
  onChunk: (chunk: Buffer) => void,
  nextTarget?: () => Buffer | null,
): Buffer | null {
  const found = onreadSlots(socket);
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  if (!found || typeof handle?.useUserBuffer !== 'function') return null;
  const wasPaused = socket.isPaused();
  socket.pause();
  const parts: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
    parts.push(chunk);
  }
  const buffer = Buffer.allocUnsafe(bytes);
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[found.buffer] = buffer;
  fields[found.callback] = (n: number, buf: Buffer) => {
    onChunk(buf.subarray(0, n));
    return true;
  };
  if (nextTarget) fields[found.generator] = () => nextTarget() ?? buffer;
  handle.useUserBuffer(buffer);
  if (!wasPaused) socket.resume();
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
