// Validation of a request at the edge, once ("Request types", "Error values", "Size
// constraints"): a bad request becomes an NBD errno and a cause for the log. Handlers below only
// see requests that fit the export.

import { Cmd, CmdFlag, commandName, MAX_PAYLOAD, NbdErrno, type RequestHeader, TxFlag } from './wire.js';

/** What validation needs to know about the export as negotiated. */
export interface ExportShape {
  size: number;
  /** Transmission flags sent to the client. */
  flags: number;
  /** A metadata context was selected, so BLOCK_STATUS is allowed. */
  hasMetaContext: boolean;
}

/** Filled with the reason when validateRequest returns an errno (reused: no allocation per call). */
export interface Rejection {
  cause: string;
}

/** Command flags each command may carry, given the transmission flags ("Command flags"). */
export function allowedFlags(type: number, txFlags: number): number {
  // FUA "is valid for all commands, provided NBD_FLAG_SEND_FUA has been negotiated".
  const fua = txFlags & TxFlag.SEND_FUA ? CmdFlag.FUA : 0;
  switch (type) {
    case Cmd.READ:
      return fua | (txFlags & TxFlag.SEND_DF ? CmdFlag.DF : 0);
    case Cmd.WRITE_ZEROES:
      return fua | CmdFlag.NO_HOLE | (txFlags & TxFlag.SEND_FAST_ZERO ? CmdFlag.FAST_ZERO : 0);
    case Cmd.BLOCK_STATUS:
      return fua | CmdFlag.REQ_ONE;
    default:
      return fua;
  }
}

/** The transmission flag a command needs, or 0 if it is always allowed. */
function requiredTxFlag(type: number): number {
  switch (type) {
    case Cmd.FLUSH:
      return TxFlag.SEND_FLUSH;
    case Cmd.TRIM:
      return TxFlag.SEND_TRIM;
    case Cmd.WRITE_ZEROES:
      return TxFlag.SEND_WRITE_ZEROES;
    case Cmd.CACHE:
      return TxFlag.SEND_CACHE;
    default:
      return 0;
  }
}

function isWriteCommand(type: number): boolean {
  return type === Cmd.WRITE || type === Cmd.TRIM || type === Cmd.WRITE_ZEROES;
}

/**
 * Returns 0 for a request the export can serve, else the NBD errno to reply with (and the cause in
 * `why`). The checks go from "what is this" to "does it fit": unknown command or flag (EINVAL),
 * write on a read-only export (EPERM), command not advertised (EINVAL), payload over 32 MiB
 * (EOVERFLOW), range past the end (ENOSPC for writes, EINVAL otherwise). Offsets are compared
 * without adding, so offset + length wrapping past 2^64 cannot pass.
 */
export function validateRequest(h: RequestHeader, shape: ExportShape, why: Rejection): number {
  const { type, flags, offset, length } = h;
  if (type > Cmd.BLOCK_STATUS) return reject(why, NbdErrno.EINVAL, `unknown command ${type}`);
  const extra = flags & ~allowedFlags(type, shape.flags);
  if (extra !== 0) {
    return reject(
      why,
      NbdErrno.EINVAL,
      `flags 0x${extra.toString(16)} are not valid for ${commandName(type)}`,
    );
  }
  if (isWriteCommand(type) && shape.flags & TxFlag.READ_ONLY) {
    return reject(why, NbdErrno.EPERM, `${commandName(type)} on a read-only export`);
  }
  const needed = requiredTxFlag(type);
  if (needed !== 0 && (shape.flags & needed) === 0) {
    return reject(why, NbdErrno.EINVAL, `${commandName(type)} was not advertised for this export`);
  }
  switch (type) {
    case Cmd.DISC:
      return 0;
    case Cmd.FLUSH:
      if (offset !== 0 || length !== 0)
        return reject(why, NbdErrno.EINVAL, 'FLUSH with a nonzero offset or length');
      return 0;
    case Cmd.BLOCK_STATUS:
      if (!shape.hasMetaContext) {
        return reject(why, NbdErrno.EINVAL, 'BLOCK_STATUS without a negotiated metadata context');
      }
      if (length === 0) return reject(why, NbdErrno.EINVAL, 'BLOCK_STATUS of length 0');
      break;
    case Cmd.READ:
    case Cmd.WRITE:
      if (length > MAX_PAYLOAD) {
        return reject(
          why,
          NbdErrno.EOVERFLOW,
          `${commandName(type)} of ${length} bytes exceeds ${MAX_PAYLOAD}`,
        );
      }
      break;
  }
  if (offset > shape.size - length) {
    const errno = type === Cmd.WRITE || type === Cmd.WRITE_ZEROES ? NbdErrno.ENOSPC : NbdErrno.EINVAL;
    return reject(
      why,
      errno,
      `${commandName(type)} offset ${offset} length ${length} goes past the end of the export (${shape.size})`,
    );
  }
  return 0;
}

function reject(why: Rejection, errno: number, cause: string): number {
  why.cause = cause;
  return errno;
}
