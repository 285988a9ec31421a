// The command handlers of the transmission phase ("Request types"): each takes a request that
// passed validateRequest, runs it on the backend and sends its reply. Backend failures become an
// NBD errno through the one mapping (errnoOf), with the real cause logged first.

import {
  type BackendCapabilities,
  type BlockBackend,
  type Extent,
  errnoOf,
} from '../backend/block-backend.js';
import type { ReplyWriter } from './reply-writer.js';
import { Cmd, CmdFlag, commandName, NbdErrno, type RequestHeader } from './wire.js';

/** The spec's limit on descriptors in one BLOCK_STATUS chunk ("SHOULD NOT send more than 2^20"). */
const MAX_EXTENTS = 1 << 20;

export interface CommandContext {
  readonly backend: BlockBackend;
  readonly caps: BackendCapabilities;
  readonly replies: ReplyWriter;
  /** Context id of base:allocation (0: none selected, then BLOCK_STATUS never gets here). */
  readonly baseAllocationId: number;
  /** Logs a failed request with the client's name. */
  logFailure(message: string): void;
  /** Called once per handled request, after its reply is queued; the payload is no longer used. */
  requestDone(h: RequestHeader, payload: Buffer | null): void;
}

/** Runs one validated request (not DISC) and replies; never rejects. */
export async function handleCommand(
  ctx: CommandContext,
  h: RequestHeader,
  payload: Buffer | null,
): Promise<void> {
  try {
    switch (h.type) {
      case Cmd.READ:
        await handleRead(ctx, h);
        break;
      case Cmd.WRITE:
        if (h.length > 0) await ctx.backend.write(payload!, h.offset, { fua: fua(h) });
        ctx.replies.sendOk(h.cookie);
        break;
      case Cmd.FLUSH:
        await ctx.backend.flush();
        ctx.replies.sendOk(h.cookie);
        break;
      case Cmd.TRIM:
        if (h.length > 0) await ctx.backend.trim(h.offset, h.length, { fua: fua(h) });
        ctx.replies.sendOk(h.cookie);
        break;
      case Cmd.WRITE_ZEROES:
        if (h.length > 0) {
          await ctx.backend.zero(h.offset, h.length, {
            fua: fua(h),
            mayTrim: (h.flags & CmdFlag.NO_HOLE) === 0,
            fastZero: (h.flags & CmdFlag.FAST_ZERO) !== 0,
          });
        }
        ctx.replies.sendOk(h.cookie);
        break;
      case Cmd.CACHE:
        if (h.length > 0 && ctx.caps.canCache) await ctx.backend.cache(h.offset, h.length);
        ctx.replies.sendOk(h.cookie);
        break;
      case Cmd.BLOCK_STATUS:
        await handleBlockStatus(ctx, h);
        break;
      default:
        // validateRequest lets no other command through.
        ctx.replies.sendError(h.cookie, NbdErrno.EINVAL, `unexpected command ${h.type}`);
    }
  } catch (err) {
    replyFailure(ctx, h, err);
  } finally {
    ctx.requestDone(h, payload);
  }
}

async function handleRead(ctx: CommandContext, h: RequestHeader): Promise<void> {
  if (h.length === 0) {
    ctx.replies.sendEmptyRead(h.cookie);
    return;
  }
  // One buffer holds the reply header and the data; with DF or not, the data goes in one chunk.
  const buf = ctx.replies.allocRead(h.length);
  try {
    await ctx.backend.read(buf.subarray(ctx.replies.readPrefix), h.offset);
  } catch (err) {
    ctx.replies.discardRead(buf);
    throw err;
  }
  ctx.replies.sendRead(h.cookie, buf, h.offset);
}

async function handleBlockStatus(ctx: CommandContext, h: RequestHeader): Promise<void> {
  const found = ctx.caps.canExtents ? await ctx.backend.extents(h.offset, h.length) : [];
  const reqOne = (h.flags & CmdFlag.REQ_ONE) !== 0;
  // Each extent non-empty, none past the request (REQ_ONE forbids it; elsewhere it keeps it simple).
  const extents: Extent[] = [];
  let left = h.length;
  for (const extent of found) {
    if (left === 0 || extents.length === MAX_EXTENTS) break;
    if (!(extent.length > 0)) continue;
    const length = Math.min(extent.length, left);
    extents.push({ length, flags: extent.flags >>> 0 });
    left -= length;
    if (reqOne) break;
  }
  // "Reporting flags 0 is always safe": used when the backend knows nothing of this range.
  if (extents.length === 0) extents.push({ length: h.length, flags: 0 });
  ctx.replies.sendBlockStatus(h.cookie, ctx.baseAllocationId, extents);
}

function fua(h: RequestHeader): boolean {
  return (h.flags & CmdFlag.FUA) !== 0;
}

/** The one errno mapping for backend failures: log the real cause, send the narrower NBD error. */
function replyFailure(ctx: CommandContext, h: RequestHeader, err: unknown): void {
  const name = errnoOf(err);
  const message = err instanceof Error ? err.message : String(err);
  // A FAST_ZERO that would be slow fails by design ("NBD_CMD_WRITE_ZEROES"): not worth a log line.
  const expected = name === 'ENOTSUP' && h.type === Cmd.WRITE_ZEROES && (h.flags & CmdFlag.FAST_ZERO) !== 0;
  if (!expected)
    ctx.logFailure(
      `${commandName(h.type)} offset ${h.offset} length ${h.length} failed: ${message} (${name})`,
    );
  ctx.replies.sendError(h.cookie, NbdErrno[name], `${commandName(h.type)} failed: ${name}`);
}
