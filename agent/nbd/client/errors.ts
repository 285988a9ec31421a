// The client's two kinds of failure. A command the server answered with an errno rejects with a
// plain BackendError (retrying it elsewhere would give the same answer). A command lost because the
// link failed rejects with NbdLinkError, a BackendError('EIO') the remote backend recognises and
// re-issues on a new connection. Handshake failures reject NbdClient.connect with NbdHandshakeError,
// whose `kind` lets callers tell a wrong key from an unreachable host without parsing messages.

import { BackendError } from '../../backend/block-backend.js';
import { NbdErrno, type NbdErrnoName, Rep } from '../wire.js';

export class NbdLinkError extends BackendError {
  constructor(message: string) {
    super('EIO', message);
    this.name = 'NbdLinkError';
  }
}

export type HandshakeFailure =
  | 'unreachable' // TCP connect failed or timed out
  | 'protocol' // the peer does not speak fixed newstyle NBD, or broke the protocol
  | 'tls-unavailable' // we want TLS, the server does not offer it
  | 'tls-required' // the server wants TLS, we have no key
  | 'tls-auth' // TLS-PSK handshake failed (wrong identity or key)
  | 'export' // OPT_GO refused (unknown export, policy, ...)
  | 'timeout';

export class NbdHandshakeError extends Error {
  constructor(
    readonly kind: HandshakeFailure,
    message: string,
  ) {
    super(message);
    this.name = 'NbdHandshakeError';
  }
}

/** The error reply names of NBD_REP_ERR_*, for messages. */
export function optionReplyName(type: number): string {
  for (const [name, value] of Object.entries(Rep)) if (value === type >>> 0) return `NBD_REP_${name}`;
  return `reply 0x${(type >>> 0).toString(16)}`;
}

/** Maps an errno received on the wire to its name; unknown values become EIO, as the spec advises. */
export function errnoName(value: number): NbdErrnoName {
  for (const [name, v] of Object.entries(NbdErrno)) if (v === value) return name as NbdErrnoName;
  return 'EIO';
}
