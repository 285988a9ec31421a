// The NBD client's life, declared as a table (as libnbd's generator/state_machine.ml does, smaller):
// each state says what it is, which states it may move to, and which file implements it. A
// connection moves only along these edges; `assertTransition` turns any other move into a bug report
// rather than a silent corruption. DEAD and CLOSED are terminal: a dead connection is never revived,
// the owner (the pool, the remote backend) makes a new one; that is the explicit reconnect edge
// of the link table below.

export type ConnectionState =
  | 'CONNECTING'
  | 'GREETING'
  | 'STARTTLS'
  | 'TLS_HANDSHAKE'
  | 'STRUCTURED_REPLY'
  | 'SET_META_CONTEXT'
  | 'GO'
  | 'READY'
  | 'CLOSING'
  | 'DEAD'
  | 'CLOSED';

interface StateSpec {
  /** What the connection is doing in this state. */
  doc: string;
  /** States it may move to next. */
  next: readonly ConnectionState[];
  /** The module that implements it. */
  impl: string;
}

// Every state but the terminal ones may die (socket error, timeout, protocol violation).
export const CONNECTION_STATES: Readonly<Record<ConnectionState, StateSpec>> = {
  CONNECTING: {
    doc: 'TCP connect in progress (bounded by connectTimeoutMs, like the whole handshake)',
    next: ['GREETING', 'DEAD', 'CLOSED'],
    impl: 'connection.ts',
  },
  GREETING: {
    doc: 'read NBDMAGIC, IHAVEOPT and the handshake flags; send the client flags (fixed newstyle, no zeroes)',
    next: ['STARTTLS', 'STRUCTURED_REPLY', 'DEAD', 'CLOSED'],
    impl: 'handshake.ts',
  },
  STARTTLS: {
    doc: 'send NBD_OPT_STARTTLS; anything but ACK is fatal (TLS is never downgraded)',
    next: ['TLS_HANDSHAKE', 'DEAD', 'CLOSED'],
    impl: 'handshake.ts',
  },
  TLS_HANDSHAKE: {
    doc: 'wrap the socket in TLS-PSK (node:tls); a wrong key fails here',
    next: ['STRUCTURED_REPLY', 'DEAD', 'CLOSED'],
    impl: 'tls-psk.ts',
  },
  STRUCTURED_REPLY: {
    doc: 'send NBD_OPT_STRUCTURED_REPLY; ERR_UNSUP is fine (simple replies, no block status)',
    next: ['SET_META_CONTEXT', 'GO', 'DEAD', 'CLOSED'],
    impl: 'handshake.ts',
  },
  SET_META_CONTEXT: {
    doc: 'ask for base:allocation and remember its context id (only with structured replies)',
    next: ['GO', 'DEAD', 'CLOSED'],
    impl: 'handshake.ts',
  },
  GO: {
    doc: 'send NBD_OPT_GO with INFO_BLOCK_SIZE; read INFO replies until ACK (size, flags, block sizes)',
    next: ['READY', 'DEAD', 'CLOSED'],
    impl: 'handshake.ts',
  },
  READY: {
    doc: 'transmission: issue commands from the to-issue queue, match replies to in-flight ones by cookie',
    next: ['CLOSING', 'DEAD', 'CLOSED'],
    impl: 'connection.ts, reply-parser.ts',
  },
  CLOSING: {
    doc: 'no new commands; wait for in-flight ones, then send NBD_CMD_DISC and end the socket',
    next: ['CLOSED', 'DEAD'],
    impl: 'connection.ts',
  },
  DEAD: {
    doc: 'terminal: the link failed; every queued and in-flight command was rejected with NbdLinkError',
    next: [],
    impl: 'connection.ts',
  },
  CLOSED: {
    doc: 'terminal: closed on purpose; later commands are rejected with ESHUTDOWN',
    next: [],
    impl: 'connection.ts',
  },
};

export function isTerminal(state: ConnectionState): boolean {
  return state === 'DEAD' || state === 'CLOSED';
}

export function assertTransition(from: ConnectionState, to: ConnectionState): void {
  if (!CONNECTION_STATES[from].next.includes(to)) {
    throw new Error(`NBD client bug: no transition ${from} -> ${to}`);
  }
}

// The remote backend's link, one level up: a set of connections (an NbdClient) that may be replaced.
export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export const LINK_STATES: Readonly<Record<LinkState, { doc: string; next: readonly LinkState[] }>> = {
  connecting: {
    doc: 'first connection; a failure here rejects openRemoteBackend',
    next: ['connected', 'closed'],
  },
  connected: {
    doc: 'requests go to the NbdClient; a link error moves to reconnecting and re-queues them',
    next: ['reconnecting', 'closed'],
  },
  reconnecting: {
    doc: 'requests wait (or fail at once with failFast); connect attempts back off 100 ms .. 5 s',
    next: ['connected', 'closed'],
  },
  closed: { doc: 'terminal: close() was called; every request fails with ESHUTDOWN', next: [] },
};

export function assertLinkTransition(from: LinkState, to: LinkState): void {
  if (!LINK_STATES[from].next.includes(to)) {
    throw new Error(`remote backend bug: no link transition ${from} -> ${to}`);
  }
}
