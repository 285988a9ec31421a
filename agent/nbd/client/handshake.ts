// Fixed newstyle negotiation, client side ("Newstyle negotiation" and "Option types" in
// doc/proto.md): greeting, STARTTLS with TLS-PSK when a key is given (never downgraded), structured
// replies, base:allocation, then GO with INFO_BLOCK_SIZE. Falls back to EXPORT_NAME only when the
// server does not know GO. Each step sets the connection state declared in states.ts.

import type net from 'node:net';
import type { Duplex } from 'node:stream';
import {
  BASE_ALLOCATION,
  CLIENT_FLAG_FIXED_NEWSTYLE,
  CLIENT_FLAG_NO_ZEROES,
  encodeOption,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  Info,
  MAX_PAYLOAD,
  NBD_MAGIC,
  Opt,
  Rep,
} from '../wire.js';
import { ByteReader } from './byte-reader.js';
import { NbdHandshakeError } from './errors.js';
import {
  describeErrorReply,
  encodeGoOption,
  encodeMetaContextOption,
  isError,
  readOptionReply,
} from './option-replies.js';
import type { ConnectionState } from './states.js';
import { type PskCredentials, upgradeToTlsPsk } from './tls-psk.js';

const OLDSTYLE_MAGIC = 0x00420281861253n;
const EXPORT_NAME_ZEROES = 124;

export interface BlockSizes {
  minimum: number;
  preferred: number;
  maximum: number;
}

export interface Negotiated {
  /** The socket to use for transmission: the TLS socket when TLS was negotiated. */
  socket: Duplex;
  /** Bytes already received past the handshake (normally none). */
  leftover: Buffer;
  size: number;
  flags: number;
  structuredReplies: boolean;
  /** Context id of base:allocation, when the server agreed to it. */
  allocationContext: number | null;
  blockSizes: BlockSizes;
  tls: boolean;
}

export interface HandshakeParams {
  exportName: string;
  tls?: PskCredentials;
  /** "host:port", for messages. */
  where: string;
  setState(state: ConnectionState): void;
}

export async function negotiate(plain: net.Socket, params: HandshakeParams): Promise<Negotiated> {
  const { where } = params;
  let socket: Duplex = plain;
  let reader = new ByteReader(plain);
  try {
    params.setState('GREETING');
    const noZeroes = await greet(reader, plain, where);

    if (params.tls) {
      params.setState('STARTTLS');
      plain.write(encodeOption(Opt.STARTTLS));
      const reply = await readOptionReply(reader, Opt.STARTTLS);
      if (reply.type !== Rep.ACK) {
        throw new NbdHandshakeError(
          'tls-unavailable',
          `${where} does not offer TLS (${describeErrorReply(reply)}); refusing to continue without it`,
        );
      }
      // Anything the server sent after its ACK arrived in plaintext: accepting it would let a
      // man in the middle inject replies into the TLS session (nbdkit CVE-2021-3716).
      if (reader.detach().length > 0) {
        throw new NbdHandshakeError('protocol', `${where} sent plaintext data after acknowledging STARTTLS`);
      }
      params.setState('TLS_HANDSHAKE');
      const { tlsSocket, ready } = upgradeToTlsPsk(plain, params.tls, where);
      socket = tlsSocket;
      tlsSocket.on('error', () => {}); // errors surface through `ready` and the reader
      await ready;
      reader = new ByteReader(tlsSocket);
    }

    params.setState('STRUCTURED_REPLY');
    socket.write(encodeOption(Opt.STRUCTURED_REPLY));
    const structuredReplies = (await readOptionReply(reader, Opt.STRUCTURED_REPLY)).type === Rep.ACK;

    let allocationContext: number | null = null;
    if (structuredReplies) {
      params.setState('SET_META_CONTEXT');
      allocationContext = await setMetaContext(reader, socket, params.exportName);
    }

    params.setState('GO');
    const opened = await go(reader, socket, params, noZeroes);
    return {
      socket,
      leftover: reader.detach(),
      ...opened,
      structuredReplies,
      allocationContext,
      tls: params.tls !== undefined,
    };
  } catch (err) {
    reader.detach();
    throw err;
  }
}

async function greet(reader: ByteReader, socket: net.Socket, where: string): Promise<boolean> {
  const hello = await reader.read(18).catch((err: Error) => {
    throw new NbdHandshakeError('protocol', `${where} closed before its NBD greeting (${err.message})`);
  });
  if (hello.readBigUInt64BE(0) !== NBD_MAGIC) {
    throw new NbdHandshakeError('protocol', `${where} is not an NBD server (no NBDMAGIC in its greeting)`);
  }
  const second = hello.readBigUInt64BE(8);
  if (second === OLDSTYLE_MAGIC) {
    throw new NbdHandshakeError(
      'protocol',
      `${where} speaks the oldstyle NBD handshake, which Ferry does not support`,
    );
  }
  if (second !== IHAVEOPT) throw new NbdHandshakeError('protocol', `${where} sent an unknown NBD greeting`);
  const serverFlags = hello.readUInt16BE(16);
  if (!(serverFlags & FLAG_FIXED_NEWSTYLE)) {
    throw new NbdHandshakeError('protocol', `${where} does not support the fixed newstyle handshake`);
  }
  const noZeroes = (serverFlags & FLAG_NO_ZEROES) !== 0;
  const clientFlags = Buffer.allocUnsafe(4);
  clientFlags.writeUInt32BE(CLIENT_FLAG_FIXED_NEWSTYLE | (noZeroes ? CLIENT_FLAG_NO_ZEROES : 0), 0);
  socket.write(clientFlags);
  return noZeroes;
}

async function setMetaContext(
  reader: ByteReader,
  socket: Duplex,
  exportName: string,
): Promise<number | null> {
  socket.write(encodeMetaContextOption(Opt.SET_META_CONTEXT, exportName, [BASE_ALLOCATION]));
  let id: number | null = null;
  for (;;) {
    const reply = await readOptionReply(reader, Opt.SET_META_CONTEXT);
    if (reply.type === Rep.ACK) return id;
    if (isError(reply)) return null; // no block status; reads and writes still work
    if (reply.type === Rep.META_CONTEXT && reply.data.length >= 4) {
      const name = reply.data.subarray(4).toString('utf8');
      if (name === BASE_ALLOCATION) id = reply.data.readUInt32BE(0);
    }
  }
}

type Opened = Pick<Negotiated, 'size' | 'flags' | 'blockSizes'>;

async function go(
  reader: ByteReader,
  socket: Duplex,
  params: HandshakeParams,
  noZeroes: boolean,
): Promise<Opened> {
  const { where, exportName } = params;
  socket.write(encodeGoOption(Opt.GO, exportName, [Info.BLOCK_SIZE]));
  let size = -1;
  let flags = 0;
  let blockSizes: BlockSizes = { minimum: 1, preferred: 4096, maximum: MAX_PAYLOAD };
  for (;;) {
    const reply = await readOptionReply(reader, Opt.GO);
    if (reply.type === Rep.ACK) break;
    if (reply.type === Rep.ERR_UNSUP) return exportNameFallback(reader, socket, params, noZeroes);
    if (isError(reply)) throw goError(reply, where, exportName);
    if (reply.type !== Rep.INFO || reply.data.length < 2) continue;
    const info = reply.data.readUInt16BE(0);
    if (info === Info.EXPORT && reply.data.length >= 12) {
      size = Number(reply.data.readBigUInt64BE(2));
      flags = reply.data.readUInt16BE(10);
    } else if (info === Info.BLOCK_SIZE && reply.data.length >= 14) {
      blockSizes = {
        minimum: reply.data.readUInt32BE(2),
        preferred: reply.data.readUInt32BE(6),
        maximum: reply.data.readUInt32BE(10),
      };
    }
  }
  if (size < 0) throw new NbdHandshakeError('protocol', `${where} acknowledged GO without NBD_INFO_EXPORT`);
  if (!Number.isSafeInteger(size)) {
    throw new NbdHandshakeError('protocol', `${where} announced an export size (${size}) past 2^53 bytes`);
  }
  return { size, flags, blockSizes: sanitizeBlockSizes(blockSizes) };
}

function goError(
  reply: { type: number; data: Buffer },
  where: string,
  exportName: string,
): NbdHandshakeError {
  const what = describeErrorReply(reply);
  switch (reply.type) {
    case Rep.ERR_TLS_REQD:
      return new NbdHandshakeError(
        'tls-required',
        `${where} requires TLS (${what}); use an nbds:// URL with a PSK`,
      );
    case Rep.ERR_UNKNOWN:
      return new NbdHandshakeError('export', `${where} has no export named '${exportName}' (${what})`);
    default:
      return new NbdHandshakeError('export', `${where} refused to open export '${exportName}' (${what})`);
  }
}

/** NBD_OPT_EXPORT_NAME: no error reply exists; a refusing server just closes the connection. */
async function exportNameFallback(
  reader: ByteReader,
  socket: Duplex,
  params: HandshakeParams,
  noZeroes: boolean,
): Promise<Opened> {
  socket.write(encodeOption(Opt.EXPORT_NAME, Buffer.from(params.exportName, 'utf8')));
  const reply = await reader.read(10 + (noZeroes ? 0 : EXPORT_NAME_ZEROES)).catch(() => {
    throw new NbdHandshakeError(
      'export',
      `${params.where} closed the connection on NBD_OPT_EXPORT_NAME '${params.exportName}' (unknown export?)`,
    );
  });
  return {
    size: Number(reply.readBigUInt64BE(0)),
    flags: reply.readUInt16BE(8),
    blockSizes: sanitizeBlockSizes({ minimum: 1, preferred: 4096, maximum: MAX_PAYLOAD }),
  };
}

/** Caps the largest request we send at MAX_PAYLOAD and keeps nonsense values out. */
function sanitizeBlockSizes(b: BlockSizes): BlockSizes {
  const minimum = b.minimum >= 1 && b.minimum <= 65536 ? b.minimum : 1;
  const maximum = Math.max(minimum, Math.min(b.maximum || MAX_PAYLOAD, MAX_PAYLOAD));
  const preferred = Math.min(Math.max(b.preferred || 4096, minimum), maximum);
  return { minimum, preferred, maximum };
}
