// The messages between a threaded remote backend (main thread) and its worker (remote-worker.ts).

import type { ErrorCode } from '../../shared/errors.js';
import type { NbdErrnoName } from '../nbd/wire.js';
import type { BackendCapabilities, Extent, WriteOptions, ZeroOptions } from './block-backend.js';

/** What the worker needs to open its connection (given as workerData). */
export interface RemoteWorkerData {
  role: 'remote-backend';
  url: string;
  pskIdentity?: string;
  pskKey?: Uint8Array;
  timeoutMs?: number;
  failFast?: boolean;
}

/** An error as it crosses the thread boundary; rebuilt as FerryError or BackendError on the main side. */
export interface WorkerError {
  name: string;
  message: string;
  errno: NbdErrnoName;
  code?: ErrorCode;
  details?: Record<string, unknown>;
}

/** `data` is a view on a SharedArrayBuffer (no copy) or on a private ArrayBuffer (transferred). */
export type WorkerRequest =
  | { id: number; op: 'read'; offset: number; length: number; data: Uint8Array }
  | { id: number; op: 'write'; offset: number; length: number; data: Uint8Array; opts?: WriteOptions }
  | { id: number; op: 'zero'; offset: number; length: number; opts?: ZeroOptions }
  | { id: number; op: 'trim'; offset: number; length: number; opts?: WriteOptions }
  | { id: number; op: 'cache' | 'extents'; offset: number; length: number }
  | { id: number; op: 'flush' | 'close' };

export type WorkerReply =
  | { kind: 'ready'; size: number; capabilities: BackendCapabilities }
  | { kind: 'failed'; error: WorkerError }
  | { kind: 'done' | 'closed'; id: number }
  | { kind: 'data'; id: number; data: Uint8Array }
  | { kind: 'extents'; id: number; extents: Extent[] }
  | { kind: 'error'; id: number; error: WorkerError };
