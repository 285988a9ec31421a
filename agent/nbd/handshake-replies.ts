// Option replies of the fixed newstyle handshake ("Option reply types"), one small helper per
// reply shape, so the option handlers read as a sequence of replies.

import { encodeLengthPrefixed, encodeOptionReply, Info, MAX_STRING, Rep } from './wire.js';

/** Where option replies go; resolves once the bytes are handed to the kernel (or the peer is gone). */
export type OptionReplySink = (buf: Buffer) => Promise<void>;

/** Sizes Ferry advertises in NBD_INFO_BLOCK_SIZE ("Size constraints"): any byte is addressable. */
export const BLOCK_SIZE_MIN = 1;
export const BLOCK_SIZE_PREFERRED = 4096;
export const BLOCK_SIZE_MAX_PAYLOAD = 32 * 1024 * 1024;

export function replyAck(send: OptionReplySink, option: number): Promise<void> {
  return send(encodeOptionReply(option, Rep.ACK));
}

/** An error reply; the message (capped at the spec's 4096-byte string limit) is for a human. */
export function replyError(
  send: OptionReplySink,
  option: number,
  type: number,
  message: string,
): Promise<void> {
  let text = Buffer.from(message, 'utf8');
  if (text.length > MAX_STRING) text = text.subarray(0, MAX_STRING);
  return send(encodeOptionReply(option, type, text));
}

/** NBD_REP_SERVER: one export of NBD_OPT_LIST; the description follows the name, for display. */
export function replyServer(
  send: OptionReplySink,
  option: number,
  name: string,
  description = '',
): Promise<void> {
  const data = Buffer.concat([encodeLengthPrefixed(name), Buffer.from(description, 'utf8')]);
  return send(encodeOptionReply(option, Rep.SERVER, data));
}

/** NBD_INFO_EXPORT: size and transmission flags (mandatory before a successful INFO/GO). */
export function replyInfoExport(
  send: OptionReplySink,
  option: number,
  size: number,
  flags: number,
): Promise<void> {
  const data = Buffer.allocUnsafe(12);
  data.writeUInt16BE(Info.EXPORT, 0);
  data.writeBigUInt64BE(BigInt(size), 2);
  data.writeUInt16BE(flags, 10);
  return send(encodeOptionReply(option, Rep.INFO, data));
}

/** NBD_INFO_NAME or NBD_INFO_DESCRIPTION: a string after the info type. */
export function replyInfoText(
  send: OptionReplySink,
  option: number,
  type: typeof Info.NAME | typeof Info.DESCRIPTION,
  text: string,
): Promise<void> {
  const bytes = Buffer.from(text, 'utf8').subarray(0, MAX_STRING);
  const data = Buffer.allocUnsafe(2 + bytes.length);
  data.writeUInt16BE(type, 0);
  bytes.copy(data, 2);
  return send(encodeOptionReply(option, Rep.INFO, data));
}

export function replyInfoBlockSize(send: OptionReplySink, option: number): Promise<void> {
  const data = Buffer.allocUnsafe(14);
  data.writeUInt16BE(Info.BLOCK_SIZE, 0);
  data.writeUInt32BE(BLOCK_SIZE_MIN, 2);
  data.writeUInt32BE(BLOCK_SIZE_PREFERRED, 6);
  data.writeUInt32BE(BLOCK_SIZE_MAX_PAYLOAD, 10);
  return send(encodeOptionReply(option, Rep.INFO, data));
}

/** NBD_REP_META_CONTEXT: a context id and its name. */
export function replyMetaContext(
  send: OptionReplySink,
  option: number,
  id: number,
  name: string,
): Promise<void> {
  const nameBytes = Buffer.from(name, 'utf8');
  const data = Buffer.allocUnsafe(4 + nameBytes.length);
  data.writeUInt32BE(id, 0);
  nameBytes.copy(data, 4);
  return send(encodeOptionReply(option, Rep.META_CONTEXT, data));
}

/**
 * The reply to NBD_OPT_EXPORT_NAME, which is not an option reply: size, transmission flags, then
 * 124 zero bytes unless the client set NBD_FLAG_C_NO_ZEROES.
 */
export function replyExportName(
  send: OptionReplySink,
  size: number,
  flags: number,
  noZeroes: boolean,
): Promise<void> {
  const data = Buffer.alloc(10 + (noZeroes ? 0 : 124));
  data.writeBigUInt64BE(BigInt(size), 0);
  data.writeUInt16BE(flags, 8);
  return send(data);
}
