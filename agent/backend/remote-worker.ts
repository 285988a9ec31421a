// The worker-thread side of a threaded remote backend (threaded-remote-backend.ts): it owns an
// ordinary remote backend (NBD client, TLS-PSK) and runs the requests the main thread posts, so the
// TLS encryption and NBD framing of a move's bulk copy do not run on the agent's event loop.
// Data travels in SharedArrayBuffers when the caller's buffer is one (no copy), else in a
// transferred copy. Every reply names the request's id; a failed request replies with its error.

import type { MessagePort } from 'node:worker_threads';
import { FerryError } from '../../shared/errors.js';
import { type BlockBackend, errnoOf } from './block-backend.js';
import { openRemoteBackend } from './remote-backend.js';
import type { RemoteWorkerData, WorkerError, WorkerReply, WorkerRequest } from './remote-worker-protocol.js';

/** Runs in the worker: opens the backend, answers 'ready' (or 'failed'), then serves requests. */
export async function runRemoteWorker(port: MessagePort, data: RemoteWorkerData): Promise<void> {
  let backend: BlockBackend;
  try {
    backend = await openRemoteBackend({
      url: data.url,
      pskIdentity: data.pskIdentity,
      pskKey: data.pskKey ? Buffer.from(data.pskKey) : undefined,
      timeoutMs: data.timeoutMs,
      failFast: data.failFast,
    });
  } catch (err) {
    port.postMessage({ kind: 'failed', error: describe(err) } satisfies WorkerReply);
    port.close();
    return;
  }
  port.postMessage({
    kind: 'ready',
    size: backend.size(),
    capabilities: backend.capabilities(),
  } satisfies WorkerReply);
  port.on('message', (req: WorkerRequest) => {
    serve(backend, req).then(
      (reply) => port.postMessage(reply.message, reply.transfer),
      (err) => port.postMessage({ kind: 'error', id: req.id, error: describe(err) } satisfies WorkerReply),
    );
  });
}

async function serve(
  backend: BlockBackend,
  req: WorkerRequest,
): Promise<{ message: WorkerReply; transfer: ArrayBuffer[] }> {
  const done = (): { message: WorkerReply; transfer: ArrayBuffer[] } => ({
    message: { kind: 'done', id: req.id },
    transfer: [],
  });
  switch (req.op) {
    case 'read': {
      const into = Buffer.from(req.data.buffer, req.data.byteOffset, req.length);
      await backend.read(into, req.offset);
      // A shared buffer already holds the data; a private one goes back (transferred, not copied).
      if (req.data.buffer instanceof SharedArrayBuffer) return done();
      return {
        message: { kind: 'data', id: req.id, data: req.data },
        transfer: [req.data.buffer as ArrayBuffer],
      };
    }
    case 'write':
      await backend.write(
        Buffer.from(req.data.buffer, req.data.byteOffset, req.length),
        req.offset,
        req.opts,
      );
      return done();
    case 'zero':
      await backend.zero(req.offset, req.length, req.opts);
      return done();
    case 'trim':
      await backend.trim(req.offset, req.length, req.opts);
      return done();
    case 'flush':
      await backend.flush();
      return done();
    case 'cache':
      await backend.cache(req.offset, req.length);
      return done();
    case 'extents':
      return {
        message: { kind: 'extents', id: req.id, extents: await backend.extents(req.offset, req.length) },
        transfer: [],
      };
    case 'close':
      await backend.close();
      return { message: { kind: 'closed', id: req.id }, transfer: [] };
  }
}

function describe(err: unknown): WorkerError {
  return {
    name: err instanceof Error ? err.name : 'Error',
    message: err instanceof Error ? err.message : String(err),
    errno: errnoOf(err),
    ...(err instanceof FerryError ? { code: err.code, details: err.details } : {}),
  };
}
