// The state shared by the handshake's modules: what the handshake needs from its connection, what
// options have negotiated so far, what it hands to transmission, and how an option is refused.

import type { Logger } from '../log.js';
import type { ExportProvider, NbdClientInfo, OpenedExport } from './export-provider.js';
import type { HandshakeReader } from './handshake-reader.js';
import { type OptionReplySink, replyError } from './handshake-replies.js';
import { optionName } from './wire.js';

/** What the handshake needs from its connection; the connection swaps reader/send on STARTTLS. */
export interface HandshakeConnection {
  readonly reader: HandshakeReader;
  readonly send: OptionReplySink;
  readonly log: Logger;
  /** "conn 3 (127.0.0.1:51234)", for log lines. */
  readonly label: string;
  clientInfo(): NbdClientInfo;
  /** One warning line per refused or malformed input, naming the client (rate-limited). */
  logBad(message: string): void;
  canStartTls(): boolean;
  upgradeToTls(keyFor: (identity: string) => Buffer | undefined): Promise<void>;
}

/** State negotiated by options; STARTTLS forgets all of it but `noZeroes` and `tls`. */
export interface NegotiationState {
  noZeroes: boolean;
  tls: boolean;
  structured: boolean;
  /** The last SET_META_CONTEXT: for which export, and the base:allocation id (0: not selected). */
  meta: { exportName: string; baseAllocationId: number } | null;
}

export interface HandshakeContext {
  conn: HandshakeConnection;
  provider: ExportProvider;
  state: NegotiationState;
}

/** The handshake's outcome when the client enters transmission. */
export interface TransmissionStart {
  opened: OpenedExport;
  /** Transmission flags sent to the client. */
  flags: number;
  structured: boolean;
  /** Context id of base:allocation, 0 when the client selected none for this export. */
  baseAllocationId: number;
}

/** A violation that ends the session with a hard disconnect (the reason is logged). */
export class HandshakeAbort extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandshakeAbort';
  }
}

/** An option handler either continues the loop (undefined), enters transmission, or ends ('abort'). */
export type OptionOutcome = TransmissionStart | 'abort' | undefined;

/** Logs why an option is refused, then sends the error reply (the loop continues). */
export async function refuseOption(
  ctx: HandshakeContext,
  option: number,
  type: number,
  message: string,
): Promise<undefined> {
  ctx.conn.logBad(`option ${optionName(option)} refused: ${message}`);
  await replyError(ctx.conn.send, option, type, message);
  return undefined;
}
