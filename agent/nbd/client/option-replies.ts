// Reading and decoding option replies ("Option reply types" in doc/proto.md), and encoding the
// option payloads the client sends. One small helper per reply shape, as nbdkit's
// protocol-handshake-newstyle.c does on the server side.

import {
  encodeOption,
  isErrorReply,
  MAX_STRING,
  OPTION_REPLY_HEADER_SIZE,
  OPTION_REPLY_MAGIC,
  optionName,
} from '../wire.js';
import type { ByteReader } from './byte-reader.js';
import { NbdHandshakeError, optionReplyName } from './errors.js';

// INFO and META_CONTEXT replies are tiny; error replies carry a message of at most MAX_STRING.
// Anything longer is a confused or hostile server, and we would rather not buffer it.
const MAX_OPTION_REPLY = 64 * 1024;

export interface OptionReply {
  type: number;
  data: Buffer;
}

export async function readOptionReply(reader: ByteReader, option: number): Promise<OptionReply> {
  const head = await reader.read(OPTION_REPLY_HEADER_SIZE);
  if (head.readBigUInt64BE(0) !== OPTION_REPLY_MAGIC) {
    throw new NbdHandshakeError('protocol', `bad option reply magic after ${optionName(option)}`);
  }
  const echoed = head.readUInt32BE(8);
  const type = head.readUInt32BE(12);
  const length = head.readUInt32BE(16);
  if (echoed !== option) {
    throw new NbdHandshakeError(
      'protocol',
      `server answered option ${optionName(echoed)} while we waited for ${optionName(option)}`,
    );
  }
  if (length > MAX_OPTION_REPLY) {
    throw new NbdHandshakeError(
      'protocol',
      `option reply of ${length} bytes to ${optionName(option)} is too long`,
    );
  }
  const data = length > 0 ? await reader.read(length) : Buffer.alloc(0);
  return { type, data };
}

/** "server said NBD_REP_ERR_UNKNOWN: no such export" — the server's own text when it sent one. */
export function describeErrorReply(reply: OptionReply): string {
  const text = reply.data.subarray(0, MAX_STRING).toString('utf8').trim();
  return text ? `${optionReplyName(reply.type)}: ${text}` : optionReplyName(reply.type);
}

export function isError(reply: OptionReply): boolean {
  return isErrorReply(reply.type);
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

/** NBD_OPT_SET_META_CONTEXT / LIST_META_CONTEXT payload: export name, then the queries. */
export function encodeMetaContextOption(option: number, exportName: string, queries: string[]): Buffer {
  const count = Buffer.allocUnsafe(4);
  count.writeUInt32BE(queries.length, 0);
  return encodeOption(
    option,
    Buffer.concat([lengthPrefixed(exportName), count, ...queries.map(lengthPrefixed)]),
  );
}

/** NBD_OPT_GO / NBD_OPT_INFO payload: export name, then the NBD_INFO_* items we ask for. */
export function encodeGoOption(option: number, exportName: string, infos: number[]): Buffer {
  const list = Buffer.allocUnsafe(2 + 2 * infos.length);
  list.writeUInt16BE(infos.length, 0);
  for (let i = 0; i < infos.length; i++) list.writeUInt16BE(infos[i], 2 + 2 * i);
  return encodeOption(option, Buffer.concat([lengthPrefixed(exportName), list]));
}
