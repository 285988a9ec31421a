// NBD_OPT_STARTTLS ("TLS support", "Option types"): ACK, then a TLS-PSK handshake on the same
// socket. Two rules guard against state injection (nbdkit CVE-2021-3716): plaintext the client
// sent after STARTTLS is never read as options, and everything negotiated before TLS is forgotten.

import {
  HandshakeAbort,
  type HandshakeContext,
  type OptionOutcome,
  refuseOption,
} from './handshake-context.js';
import { replyAck } from './handshake-replies.js';
import { Opt, Rep } from './wire.js';

export async function handleStartTls(ctx: HandshakeContext, data: Buffer): Promise<OptionOutcome> {
  const option = Opt.STARTTLS;
  if (data.length !== 0)
    return refuseOption(ctx, option, Rep.ERR_INVALID, 'NBD_OPT_STARTTLS carries no data');
  if (ctx.state.tls) return refuseOption(ctx, option, Rep.ERR_INVALID, 'TLS is already active');
  const keyFor = ctx.provider.pskKey?.bind(ctx.provider);
  if (!keyFor || !ctx.conn.canStartTls()) {
    return refuseOption(ctx, option, Rep.ERR_POLICY, 'TLS is not configured on this server');
  }
  await replyAck(ctx.conn.send, option);
  // A client may not send anything between STARTTLS and its TLS ClientHello, which it only sends
  // after reading the ACK: bytes already here were sent blind and would be taken as plaintext.
  if (ctx.conn.reader.buffered() > 0) {
    throw new HandshakeAbort('plaintext data sent after STARTTLS (refused: would bypass TLS)');
  }
  await ctx.conn.upgradeToTls(keyFor);
  ctx.state.tls = true;
  ctx.state.structured = false;
  ctx.state.meta = null;
  return undefined;
}
