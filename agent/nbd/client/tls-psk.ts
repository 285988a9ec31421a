// The client side of NBD_OPT_STARTTLS with a pre-shared key: wraps the plaintext socket in node:tls
// once the server has acknowledged STARTTLS. No certificates are involved; both sides prove they
// hold the key, so a wrong identity or key fails the TLS handshake itself.

import type net from 'node:net';
import tls from 'node:tls';
import { NbdHandshakeError } from './errors.js';

// TLS 1.3 suites usable with an external PSK must hash with SHA-256 (the PSK's hash), then the TLS
// 1.2 PSK suites (AEAD only) for older servers. Listed explicitly: OpenSSL's defaults have no PSK.
export const PSK_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-PSK-CHACHA20-POLY1305',
  'DHE-PSK-AES128-GCM-SHA256',
  'DHE-PSK-AES256-GCM-SHA384',
  'PSK-AES128-GCM-SHA256',
  'PSK-AES256-GCM-SHA384',
  'PSK-CHACHA20-POLY1305',
].join(':');

export interface PskCredentials {
  identity: string;
  key: Buffer;
}

export function upgradeToTlsPsk(
  socket: net.Socket,
  creds: PskCredentials,
  where: string,
): { tlsSocket: tls.TLSSocket; ready: Promise<void> } {
  const tlsSocket = tls.connect({
    socket,
    pskCallback: () => ({ identity: creds.identity, psk: creds.key }),
    ciphers: PSK_CIPHERS,
    minVersion: 'TLSv1.2',
    checkServerIdentity: () => undefined,
  });
  const ready = new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      tlsSocket.off('secureConnect', onSecure);
      reject(
        new NbdHandshakeError(
          'tls-auth',
          `TLS-PSK handshake with ${where} failed (${err.message}); check the PSK identity ` +
            `'${creds.identity}' and key: they must match the server's`,
        ),
      );
    };
    const onSecure = () => {
      tlsSocket.off('error', onError);
      resolve();
    };
    tlsSocket.once('error', onError);
    tlsSocket.once('secureConnect', onSecure);
  });
  return { tlsSocket, ready };
}
