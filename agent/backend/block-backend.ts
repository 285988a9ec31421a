// One interface for every stage of a virtual volume's I/O chain (nbdkit's plugin/filter model):
// a local LV, a remote LV over NBD, and the stages a move or a test puts in front of them
// (mirror, delay, error). Each stage receives requests already validated at the NBD edge, so it
// may assume offset + length <= size().
//
// Errors: a stage rejects with a BackendError naming an errno; the NBD server maps it to the wire.

import type { NbdErrnoName } from '../nbd/wire.js';

/** base:allocation flags of one extent: bit 0 hole, bit 1 reads as zero. */
export interface Extent {
  length: number;
  flags: number;
}

export interface BackendCapabilities {
  readOnly: boolean;
  canFlush: boolean;
  canFua: boolean;
  canTrim: boolean;
  canZero: boolean;
  /** WRITE_ZEROES with FAST_ZERO can be honoured (fails with ENOTSUP when it would be slow). */
  canFastZero: boolean;
  canCache: boolean;
  canExtents: boolean;
  /** A flush through one handle persists writes made through any other handle of this backend. */
  canMultiConn: boolean;
}

export interface WriteOptions {
  fua?: boolean;
}

export interface ZeroOptions extends WriteOptions {
  /** The stage may punch a hole instead of writing zeroes (the client did not set NO_HOLE). */
  mayTrim?: boolean;
  /** Fail with ENOTSUP rather than fall back to writing zeroes slowly. */
  fastZero?: boolean;
}

export interface BlockBackend {
  /** Size in bytes; constant for the life of the backend. */
  size(): number;
  capabilities(): BackendCapabilities;
  /** Fills `into` (its whole length) with data from `offset`. */
  read(into: Buffer, offset: number): Promise<void>;
  write(data: Buffer, offset: number, opts?: WriteOptions): Promise<void>;
  flush(): Promise<void>;
  trim(offset: number, length: number, opts?: WriteOptions): Promise<void>;
  zero(offset: number, length: number, opts?: ZeroOptions): Promise<void>;
  /** Allocation of [offset, offset+length): extents cover at least one byte, at most the range. */
  extents(offset: number, length: number): Promise<Extent[]>;
  /** Prefetch hint; may do nothing. */
  cache(offset: number, length: number): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

export class BackendError extends Error {
  constructor(
    readonly errno: NbdErrnoName,
    message: string,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

/** Maps a Node fs/net error (or a BackendError) to the errno that goes on the wire. */
export function errnoOf(err: unknown): NbdErrnoName {
  if (err instanceof BackendError) return err.errno;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EPERM':
    case 'EACCES':
    case 'EROFS':
      return 'EPERM';
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return 'ENOSPC';
    case 'EINVAL':
      return 'EINVAL';
    case 'ENOMEM':
      return 'ENOMEM';
    case 'EOVERFLOW':
      return 'EOVERFLOW';
    case 'ENOTSUP':
    case 'EOPNOTSUPP':
      return 'ENOTSUP';
    case 'ESHUTDOWN':
      return 'ESHUTDOWN';
    default:
      return 'EIO';
  }
}
