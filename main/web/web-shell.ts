// The browser shell: serves the built renderer and the bridge on 127.0.0.1 only. Every request and
// WebSocket upgrade must carry the random token from the printed URL (or the cookie the page got with
// it) and name this very host and port (no DNS rebinding); a WebSocket from another page's origin is
// refused. The shell holds no state of its own: the console core behind `handler` does.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { type BridgeHandler, MAX_BRIDGE_MESSAGE_BYTES } from '../../shared/bridge/index.js';
import { FerryError } from '../../shared/errors.js';
import { newAccessToken, tokenCookie, tokenSource } from './access-token.js';
import { serveBridgeSocket, type WebShellLog } from './bridge-socket.js';
import { securityHeaders, sendStaticFile } from './static-files.js';

export const BRIDGE_SOCKET_PATH = '/bridge';
const LOOPBACK = '127.0.0.1';

export interface WebShellOptions {
  handler: BridgeHandler;
  /** 0 or absent: any free port. */
  port?: number;
  /** The built renderer (dist/renderer). */
  staticDir: string;
  log?: WebShellLog;
}

export interface WebShell {
  /** http://127.0.0.1:PORT/?token=... : what the admin opens. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const REFUSED_TEXT =
  'Ferry: this address needs its access token. Open the full URL that `ferry web` printed ' +
  '(it ends with ?token=...).\n';

export async function startWebShell(options: WebShellOptions): Promise<WebShell> {
  const { handler, staticDir } = options;
  const log: WebShellLog = options.log ?? ((message) => process.stderr.write(`ferry web: ${message}\n`));
  const token = newAccessToken();
  let port = 0;

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BRIDGE_MESSAGE_BYTES });
  wss.on('connection', (ws) => serveBridgeSocket(ws, handler, log));
  wss.on('error', (err) => log(`websocket server: ${err.message}`));

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((err: Error) => {
      log(`request ${req.url}: ${err.message}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Internal error\n');
    });
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers = securityHeaders(port);
    const plain = (status: number, text: string): void => {
      res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    if (!hostIsOurs(req)) return plain(421, 'Ferry: wrong host; use http://127.0.0.1:PORT\n');
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}:${port}`);
    const source = tokenSource(req, url, token, port);
    if (!source) return plain(401, REFUSED_TEXT);
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(405, 'Ferry: only GET and HEAD here\n');
    if (url.pathname === BRIDGE_SOCKET_PATH) return plain(426, 'Ferry: this is the WebSocket endpoint\n');
    const extra = source === 'query' ? { ...headers, 'Set-Cookie': tokenCookie(token, port) } : headers;
    await sendStaticFile(res, staticDir, url.pathname, req.method === 'HEAD', extra);
  }

  function hostIsOurs(req: IncomingMessage): boolean {
    const host = req.headers.host;
    return host === `${LOOPBACK}:${port}` || host === `localhost:${port}`;
  }

  function refuseUpgrade(socket: Duplex, status: string, text: string): void {
    socket.on('error', () => {});
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${text}`);
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => log(`upgrade socket: ${err.message}`));
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}:${port}`);
    if (!hostIsOurs(req)) return refuseUpgrade(socket, '421 Misdirected Request', 'wrong host\n');
    if (!tokenSource(req, url, token, port)) return refuseUpgrade(socket, '401 Unauthorized', REFUSED_TEXT);
    const origin = req.headers.origin;
    if (
      origin !== undefined &&
      origin !== `http://${LOOPBACK}:${port}` &&
      origin !== `http://localhost:${port}`
    ) {
      return refuseUpgrade(socket, '403 Forbidden', 'Ferry: WebSocket from another origin refused\n');
    }
    if (url.pathname !== BRIDGE_SOCKET_PATH)
      return refuseUpgrade(socket, '404 Not Found', 'no such socket\n');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        err.code === 'EADDRINUSE'
          ? new FerryError(
              'ERR_ALREADY_EXISTS',
              `port ${options.port} is in use: pick another with --port, or 0`,
            )
          : err,
      );
    };
    server.once('error', onError);
    server.listen(options.port ?? 0, LOOPBACK, () => {
      server.off('error', onError);
      server.on('error', (err) => log(`server: ${err.message}`));
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${LOOPBACK}:${port}/?token=${token}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
