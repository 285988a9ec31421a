// Handlers of the newstyle options that choose and describe exports ("Option types"): LIST,
// INFO/GO, EXPORT_NAME, STRUCTURED_REPLY, LIST/SET_META_CONTEXT. STARTTLS has its own module.

import type { ExportRefusal, OpenedExport } from './export-provider.js';
import type { HandshakeContext, OptionOutcome, TransmissionStart } from './handshake-context.js';
import { HandshakeAbort, refuseOption } from './handshake-context.js';
import { decodeNbdString, parseInfoRequest, parseMetaContextRequest } from './handshake-parse.js';
import {
  replyAck,
  replyExportName,
  replyInfoBlockSize,
  replyInfoExport,
  replyInfoText,
  replyMetaContext,
  replyServer,
} from './handshake-replies.js';
import { BASE_ALLOCATION, Info, Opt, Rep, TxFlag } from './wire.js';

/** The id Ferry gives base:allocation in SET_META_CONTEXT replies (ids are per connection). */
export const BASE_ALLOCATION_ID = 1;

/** Transmission flags ("Transmission flags"): advertise only what this export really does. */
export function transmissionFlags(opened: OpenedExport, structured: boolean): number {
  const caps = opened.backend.capabilities();
  const readOnly = opened.readOnly || caps.readOnly;
  // CACHE is always accepted: a no-op is a valid cache (the spec promises no effect).
  let flags = TxFlag.HAS_FLAGS | TxFlag.SEND_CACHE;
  if (readOnly) flags |= TxFlag.READ_ONLY;
  if (caps.canFlush) flags |= TxFlag.SEND_FLUSH;
  if (!readOnly && caps.canFua) flags |= TxFlag.SEND_FUA;
  if (!readOnly && caps.canTrim) flags |= TxFlag.SEND_TRIM;
  if (!readOnly && caps.canZero) flags |= TxFlag.SEND_WRITE_ZEROES;
  if (!readOnly && caps.canZero && caps.canFastZero) flags |= TxFlag.SEND_FAST_ZERO;
  // DF only means something with structured replies; every READ is answered in one chunk anyway.
  if (structured) flags |= TxFlag.SEND_DF;
  if (caps.canMultiConn) flags |= TxFlag.CAN_MULTI_CONN;
  return flags;
}

export async function handleList(ctx: HandshakeContext, data: Buffer): Promise<OptionOutcome> {
  if (data.length !== 0) return refuseOption(ctx, Opt.LIST, Rep.ERR_INVALID, 'NBD_OPT_LIST carries no data');
  for (const listing of ctx.provider.list(ctx.conn.clientInfo())) {
    await replyServer(ctx.conn.send, Opt.LIST, listing.name, listing.description);
  }
  await replyAck(ctx.conn.send, Opt.LIST);
  return undefined;
}

export async function handleStructuredReply(ctx: HandshakeContext, data: Buffer): Promise<OptionOutcome> {
  const option = Opt.STRUCTURED_REPLY;
  if (data.length !== 0)
    return refuseOption(ctx, option, Rep.ERR_INVALID, 'NBD_OPT_STRUCTURED_REPLY carries no data');
  if (ctx.state.structured)
    return refuseOption(ctx, option, Rep.ERR_INVALID, 'structured replies already negotiated');
  ctx.state.structured = true;
  await replyAck(ctx.conn.send, option);
  return undefined;
}

export async function handleInfoOrGo(
  ctx: HandshakeContext,
  option: number,
  data: Buffer,
): Promise<OptionOutcome> {
  const request = parseInfoRequest(data);
  if (!request.ok) return refuseOption(ctx, option, Rep.ERR_INVALID, request.error);
  const opened = ctx.provider.open(request.name, ctx.conn.clientInfo());
  if (isRefusal(opened)) return refuseOption(ctx, option, refusalReply(ctx, opened), opened.message);
  let entering = false;
  try {
    const flags = transmissionFlags(opened, ctx.state.structured);
    const send = ctx.conn.send;
    await replyInfoExport(send, option, opened.backend.size(), flags);
    if (request.requests.includes(Info.NAME)) await replyInfoText(send, option, Info.NAME, opened.name);
    if (request.requests.includes(Info.DESCRIPTION) && opened.description) {
      await replyInfoText(send, option, Info.DESCRIPTION, opened.description);
    }
    // Sent whether asked or not (allowed): the values are the defaults of "Size constraints".
    await replyInfoBlockSize(send, option);
    await replyAck(send, option);
    if (option !== Opt.GO) return undefined;
    entering = true;
    return startTransmission(ctx, request.name, opened, flags);
  } finally {
    if (!entering) opened.release();
  }
}

/** NBD_OPT_EXPORT_NAME cannot return an error: a refusal ends the session ("Option types"). */
export async function handleExportName(ctx: HandshakeContext, data: Buffer): Promise<OptionOutcome> {
  const name = decodeNbdString(data, 'export name');
  if (!name.ok) throw new HandshakeAbort(`EXPORT_NAME: ${name.error}`);
  const opened = ctx.provider.open(name.value, ctx.conn.clientInfo());
  if (isRefusal(opened)) throw new HandshakeAbort(`EXPORT_NAME '${name.value}' refused: ${opened.message}`);
  try {
    const flags = transmissionFlags(opened, ctx.state.structured);
    await replyExportName(ctx.conn.send, opened.backend.size(), flags, ctx.state.noZeroes);
    return startTransmission(ctx, name.value, opened, flags);
  } catch (err) {
    opened.release();
    throw err;
  }
}

/** base:allocation is the one context served; "base:" lists it (the namespace wildcard). */
export async function handleMetaContext(
  ctx: HandshakeContext,
  option: number,
  data: Buffer,
): Promise<OptionOutcome> {
  const isSet = option === Opt.SET_META_CONTEXT;
  const request = parseMetaContextRequest(data);
  if (!request.ok) {
    if (isSet) ctx.state.meta = null; // a failed SET still replaces the selection
    return refuseOption(ctx, option, Rep.ERR_INVALID, request.error);
  }
  if (isSet && !ctx.state.structured) {
    ctx.state.meta = null;
    return refuseOption(ctx, option, Rep.ERR_INVALID, 'SET_META_CONTEXT needs structured replies first');
  }
  const matches = isSet
    ? request.queries.includes(BASE_ALLOCATION)
    : request.queries.length === 0 || request.queries.some((q) => q === 'base:' || q === BASE_ALLOCATION);
  if (isSet) {
    ctx.state.meta = { exportName: request.exportName, baseAllocationId: matches ? BASE_ALLOCATION_ID : 0 };
  }
  // LIST replies carry id 0 ("SHOULD be set to zero"); SET replies carry the id to expect.
  if (matches) await replyMetaContext(ctx.conn.send, option, isSet ? BASE_ALLOCATION_ID : 0, BASE_ALLOCATION);
  await replyAck(ctx.conn.send, option);
  return undefined;
}

function startTransmission(
  ctx: HandshakeContext,
  requestedName: string,
  opened: OpenedExport,
  flags: number,
): TransmissionStart {
  // Contexts count only if the last SET_META_CONTEXT named the export now chosen.
  const meta = ctx.state.meta;
  const baseAllocationId = meta && meta.exportName === requestedName ? meta.baseAllocationId : 0;
  return { opened, flags, structured: ctx.state.structured, baseAllocationId };
}

function isRefusal(result: OpenedExport | ExportRefusal): result is ExportRefusal {
  return 'kind' in result;
}

function refusalReply(ctx: HandshakeContext, refusal: ExportRefusal): number {
  switch (refusal.kind) {
    case 'unknown':
      return Rep.ERR_UNKNOWN;
    case 'policy':
      return Rep.ERR_POLICY;
    case 'shutdown':
      return Rep.ERR_SHUTDOWN;
    case 'tls-required':
      // "MUST NOT send NBD_REP_ERR_TLS_REQD ... if TLS has already been negotiated".
      return ctx.state.tls ? Rep.ERR_POLICY : Rep.ERR_TLS_REQD;
  }
}
