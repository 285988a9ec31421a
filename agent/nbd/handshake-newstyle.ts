// The fixed newstyle handshake ("Newstyle negotiation", "Fixed newstyle negotiation"): greeting,
// client flags, then the option loop until the client enters transmission (GO, EXPORT_NAME) or
// leaves (ABORT). Each option's handling lives in handshake-options.ts / handshake-starttls.ts.

import type { ExportProvider } from './export-provider.js';
import {
  HandshakeAbort,
  type HandshakeConnection,
  type HandshakeContext,
  type OptionOutcome,
  refuseOption,
  type TransmissionStart,
} from './handshake-context.js';
import {
  handleExportName,
  handleInfoOrGo,
  handleList,
  handleMetaContext,
  handleStructuredReply,
} from './handshake-options.js';
import { replyAck, replyError } from './handshake-replies.js';
import { handleStartTls } from './handshake-starttls.js';
import {
  CLIENT_FLAG_FIXED_NEWSTYLE,
  CLIENT_FLAG_NO_ZEROES,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  NBD_MAGIC,
  OPTION_HEADER_SIZE,
  Opt,
  optionName,
  Rep,
} from './wire.js';

/**
 * Largest option payload read. The biggest legitimate one (INFO/GO with a 4096-byte name, or a
 * META_CONTEXT list) is a few KiB; a larger length is a denial of service and ends the session.
 */
export const MAX_OPTION_DATA = 1024 * 1024;

/** Runs the handshake; null when the client ended it with NBD_OPT_ABORT. */
export async function negotiateNewstyle(
  conn: HandshakeConnection,
  provider: ExportProvider,
): Promise<TransmissionStart | null> {
  const greeting = Buffer.allocUnsafe(18);
  greeting.writeBigUInt64BE(NBD_MAGIC, 0);
  greeting.writeBigUInt64BE(IHAVEOPT, 8);
  greeting.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  await conn.send(greeting);

  const clientFlags = (await conn.reader.read(4)).readUInt32BE(0);
  const known = CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES;
  if ((clientFlags & ~known) !== 0) {
    throw new HandshakeAbort(`unknown client flags 0x${clientFlags.toString(16)}`);
  }
  if ((clientFlags & CLIENT_FLAG_FIXED_NEWSTYLE) === 0) {
    throw new HandshakeAbort('client does not speak fixed newstyle, the only handshake served');
  }
  const ctx: HandshakeContext = {
    conn,
    provider,
    state: {
      noZeroes: (clientFlags & CLIENT_FLAG_NO_ZEROES) !== 0,
      tls: false,
      structured: false,
      meta: null,
    },
  };

  for (;;) {
    const header = await ctx.conn.reader.read(OPTION_HEADER_SIZE);
    if (header.readBigUInt64BE(0) !== IHAVEOPT) throw new HandshakeAbort('bad option magic');
    const option = header.readUInt32BE(8);
    const length = header.readUInt32BE(12);
    if (length > MAX_OPTION_DATA) {
      throw new HandshakeAbort(
        `option ${optionName(option)} carries ${length} bytes (limit ${MAX_OPTION_DATA})`,
      );
    }
    const data = await ctx.conn.reader.read(length);
    const outcome = await handleOption(ctx, option, data);
    if (outcome === 'abort') return null;
    if (outcome) return outcome;
  }
}

async function handleOption(ctx: HandshakeContext, option: number, data: Buffer): Promise<OptionOutcome> {
  // FORCEDTLS ("TLS support"): before TLS only STARTTLS and ABORT are served.
  const tlsRequired = !ctx.state.tls && ctx.provider.tlsRequired?.() === true;
  if (tlsRequired && option !== Opt.STARTTLS && option !== Opt.ABORT) {
    if (option === Opt.EXPORT_NAME) throw new HandshakeAbort('EXPORT_NAME before the required STARTTLS');
    return refuseOption(ctx, option, Rep.ERR_TLS_REQD, 'TLS is required: send NBD_OPT_STARTTLS first');
  }
  switch (option) {
    case Opt.EXPORT_NAME:
      return handleExportName(ctx, data);
    case Opt.ABORT:
      // The reply is a courtesy: the client may already have closed ("NBD_OPT_ABORT").
      await replyAck(ctx.conn.send, option);
      return 'abort';
    case Opt.LIST:
      return handleList(ctx, data);
    case Opt.STARTTLS:
      return handleStartTls(ctx, data);
    case Opt.INFO:
    case Opt.GO:
      return handleInfoOrGo(ctx, option, data);
    case Opt.STRUCTURED_REPLY:
      return handleStructuredReply(ctx, data);
    case Opt.LIST_META_CONTEXT:
    case Opt.SET_META_CONTEXT:
      return handleMetaContext(ctx, option, data);
    case Opt.EXTENDED_HEADERS:
      // Newer clients ask for it first and fall back on ERR_UNSUP: not worth a warning.
      await replyError(ctx.conn.send, option, Rep.ERR_UNSUP, 'extended headers are not supported');
      return undefined;
    default:
      ctx.conn.log.info(`${ctx.conn.label}: unsupported option ${optionName(option)} (ERR_UNSUP)`);
      await replyError(ctx.conn.send, option, Rep.ERR_UNSUP, `option ${option} is not supported`);
      return undefined;
  }
}
