// A remote backend whose NBD client runs in a worker thread (remote-worker.ts): the TLS encryption
// and framing of a move's bulk copy then use a second core instead of the agent's event loop, which
// keeps serving the host's NBD traffic. The backend behaves as openRemoteBackend's does (same
// options, errors rebuilt as FerryError / BackendError); only where the work runs differs.
//
// Buffers: a caller's buffer backed by a SharedArrayBuffer is handed over without a copy (the move's
// chunk buffers are); any other buffer is copied once into a transferred ArrayBuffer. The caller must
// not touch a buffer while its request is in flight, as with every BlockBackend.
//
// The worker runs its own small bundle (remote-worker-main.ts), which the build embeds in the agent's
// one file as FERRY_REMOTE_WORKER_CODE; unbundled (tests), setRemoteWorkerCode() supplies it.

import { Worker } from 'node:worker_threads';
import { FerryError } from '../../shared/errors.js';
import {
  type BackendCapabilities,
  BackendError,
  type BlockBackend,
  type Extent,
  type WriteOptions,
  type ZeroOptions,
} from './block-backend.js';
import type { RemoteBackendOptions } from './remote-backend.js';
import type { RemoteWorkerData, WorkerError, WorkerReply, WorkerRequest } from './remote-worker-protocol.js';

declare const FERRY_REMOTE_WORKER_CODE: string | undefined;

let workerCode: string | null =
  typeof FERRY_REMOTE_WORKER_CODE === 'string' ? FERRY_REMOTE_WORKER_CODE : null;

/** The worker's code (CommonJS, build/remote-worker-code.mjs); null turns threading off. */
export function setRemoteWorkerCode(code: string | null): void {
  workerCode = code;
}

/** Threaded backends can be used: the worker's code is there and FERRY_COPY_WORKER is not '0'. */
export function remoteWorkerAvailable(): boolean {
  return workerCode !== null && process.env.FERRY_COPY_WORKER !== '0';
}

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;
type RequestBody = Distribute<WorkerRequest>;

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(err: Error): void;
}

/** Opens the remote export in a new worker thread; rejects as openRemoteBackend would. */
export async function openThreadedRemoteBackend(opts: RemoteBackendOptions): Promise<BlockBackend> {
  if (workerCode === null) throw new Error('no worker code is set: call setRemoteWorkerCode() first');
  const workerData: RemoteWorkerData = {
    role: 'remote-backend',
    url: opts.url,
    pskIdentity: opts.pskIdentity,
    pskKey: opts.pskKey ? new Uint8Array(opts.pskKey) : undefined,
    timeoutMs: opts.timeoutMs,
    failFast: opts.failFast,
  };
  const worker = new Worker(workerCode, { eval: true, workerData });
  worker.unref(); // requests in flight are what keeps the agent busy, not the thread
  // Named handlers, taken off one by one: removeAllListeners() would also drop the Worker's own.
  let onMessage!: (reply: WorkerReply) => void;
  let onError!: (err: Error) => void;
  let onExit!: (code: number) => void;
  const first = await new Promise<WorkerReply>((resolve, reject) => {
    onMessage = resolve;
    onError = reject;
    onExit = (code) => reject(new Error(`the remote backend worker exited (code ${code})`));
    worker.once('message', onMessage).once('error', onError).once('exit', onExit);
  }).finally(() => worker.off('message', onMessage).off('error', onError).off('exit', onExit));
  if (first.kind !== 'ready') {
    await worker.terminate();
    throw first.kind === 'failed' ? rebuild(first.error) : new Error(`worker said ${first.kind} first`);
  }
  return new ThreadedRemoteBackend(worker, first.size, first.capabilities);
}

class ThreadedRemoteBackend implements BlockBackend {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly worker: Worker,
    private readonly exportSize: number,
    private readonly caps: BackendCapabilities,
  ) {
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    worker.on('error', (err) =>
      this.die(new BackendError('EIO', `remote backend worker failed: ${err.message}`)),
    );
    worker.on('exit', (code) =>
      this.die(new BackendError('EIO', `remote backend worker exited (code ${code})`)),
    );
  }

  size(): number {
    return this.exportSize;
  }
  capabilities(): BackendCapabilities {
    return { ...this.caps };
  }

  async read(into: Buffer, offset: number): Promise<void> {
    const shared = into.buffer instanceof SharedArrayBuffer;
    const data = shared
      ? new Uint8Array(into.buffer, into.byteOffset, into.length)
      : new Uint8Array(into.length);
    const reply = await this.request(
      { op: 'read', offset, length: into.length, data },
      shared ? [] : [data.buffer as ArrayBuffer],
    );
    if (reply.kind === 'data') into.set(reply.data);
  }
  async write(data: Buffer, offset: number, opts?: WriteOptions): Promise<void> {
    const shared = data.buffer instanceof SharedArrayBuffer;
    // A private buffer is copied into one of its own size: transferring the original would detach it.
    const view = shared ? new Uint8Array(data.buffer, data.byteOffset, data.length) : new Uint8Array(data);
    await this.request(
      { op: 'write', offset, length: data.length, data: view, opts },
      shared ? [] : [view.buffer as ArrayBuffer],
    );
  }
  async flush(): Promise<void> {
    await this.request({ op: 'flush' });
  }
  async trim(offset: number, length: number, opts?: WriteOptions): Promise<void> {
    await this.request({ op: 'trim', offset, length, opts });
  }
  async zero(offset: number, length: number, opts?: ZeroOptions): Promise<void> {
    await this.request({ op: 'zero', offset, length, opts });
  }
  async extents(offset: number, length: number): Promise<Extent[]> {
    const reply = await this.request({ op: 'extents', offset, length });
    return reply.kind === 'extents' ? reply.extents : [];
  }
  async cache(offset: number, length: number): Promise<void> {
    await this.request({ op: 'cache', offset, length });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.dead) await this.request({ op: 'close' }).catch(() => {});
      this.die(new BackendError('ESHUTDOWN', 'the remote backend is closed'));
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private request(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id } as WorkerRequest, transfer);
    });
  }

  private onReply(reply: WorkerReply): void {
    if (!('id' in reply)) return;
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (reply.kind === 'error') waiter.reject(rebuild(reply.error));
    else waiter.resolve(reply);
  }

  /** The worker is gone (or closed): every request in flight and every later one fails. */
  private die(err: Error): void {
    this.dead ??= err;
    for (const waiter of this.pending.values()) waiter.reject(this.dead);
    this.pending.clear();
  }
}

function rebuild(e: WorkerError): Error {
  if (e.code) return new FerryError(e.code, e.message, e.details);
  return new BackendError(e.errno, e.message);
}
