// The server side of NBD_OPT_STARTTLS: wraps the plaintext socket in TLS authenticated by a
// pre-shared key (PSK file lines are `identity:hexkey`, as qemu and libnbd use them). TLS >= 1.2.

import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * PSK suites only: TLS 1.3 suites (OpenSSL's PSK callback works with the SHA-256 ones) and the
 * TLS 1.2 PSK suites GnuTLS and OpenSSL clients offer. No certificate suites: there is no cert.
 */
export const PSK_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'ECDHE-PSK-CHACHA20-POLY1305',
  'DHE-PSK-AES128-GCM-SHA256',
  'DHE-PSK-AES256-GCM-SHA384',
  'PSK-AES128-GCM-SHA256',
  'PSK-AES256-GCM-SHA384',
  'PSK-CHACHA20-POLY1305',
].join(':');

export interface TlsPskSession {
  socket: TLSSocket;
  /** The PSK identity the client proved it holds the key of. */
  identity: string;
}

/**
 * Runs the TLS handshake over `raw` (whose plaintext reader must already be detached) and resolves
 * once it is secure. Rejects when the client offers an unknown identity, a wrong key, or leaves.
 */
export function acceptTlsPsk(
  raw: Socket,
  keyFor: (identity: string) => Buffer | undefined,
): Promise<TlsPskSession> {
  return new Promise((resolve, reject) => {
    let identity: string | undefined;
    const socket = new TLSSocket(raw, {
      isServer: true,
      minVersion: 'TLSv1.2',
      ciphers: PSK_CIPHERS,
      pskCallback: (_socket: TLSSocket, id: string) => {
        const key = keyFor(id);
        if (!key) return null;
        identity = id;
        return key;
      },
    } as ConstructorParameters<typeof TLSSocket>[1]);
    const fail = (err: Error) => {
      cleanup();
      socket.destroy();
      reject(new Error(`TLS handshake failed: ${err.message.trim()}`));
    };
    const closed = () => fail(new Error('the client closed the connection'));
    const secure = () => {
      cleanup();
      if (identity === undefined) {
        socket.destroy();
        reject(new Error('TLS handshake completed without a PSK identity'));
        return;
      }
      resolve({ socket, identity });
    };
    const cleanup = () => {
      socket.removeListener('secure', secure);
      socket.removeListener('error', fail);
      socket.removeListener('close', closed);
    };
    socket.on('secure', secure);
    socket.on('error', fail);
    socket.on('close', closed);
  });
}
