// The client's state tables are data: check they are closed (every edge names a state), that the
// terminal states are the only dead ends, and that every live state can die.

import { describe, expect, it } from 'vitest';
import {
  assertLinkTransition,
  assertTransition,
  CONNECTION_STATES,
  type ConnectionState,
  isTerminal,
  LINK_STATES,
} from '../../agent/nbd/client/states.js';

describe('NBD client state tables', () => {
  const states = Object.keys(CONNECTION_STATES) as ConnectionState[];

  it('names only known states, and only DEAD and CLOSED are terminal', () => {
    for (const s of states) {
      for (const next of CONNECTION_STATES[s].next) expect(states).toContain(next);
      expect(CONNECTION_STATES[s].next.length === 0).toBe(isTerminal(s));
      if (!isTerminal(s)) expect(CONNECTION_STATES[s].next).toContain('DEAD');
    }
  });

  it('reaches READY from CONNECTING with and without TLS', () => {
    const walk = (path: ConnectionState[]) => {
      for (let i = 1; i < path.length; i++) assertTransition(path[i - 1], path[i]);
    };
    walk([
      'CONNECTING',
      'GREETING',
      'STRUCTURED_REPLY',
      'SET_META_CONTEXT',
      'GO',
      'READY',
      'CLOSING',
      'CLOSED',
    ]);
    walk(['CONNECTING', 'GREETING', 'STARTTLS', 'TLS_HANDSHAKE', 'STRUCTURED_REPLY', 'GO', 'READY', 'DEAD']);
  });

  it('refuses edges that are not in the table', () => {
    expect(() => assertTransition('GREETING', 'READY')).toThrow(/GREETING -> READY/);
    expect(() => assertTransition('DEAD', 'READY')).toThrow();
    expect(() => assertLinkTransition('closed', 'connected')).toThrow();
    assertLinkTransition('connected', 'reconnecting');
    assertLinkTransition('reconnecting', 'connected');
    expect(LINK_STATES.closed.next).toEqual([]);
  });
});
