// The agent's NBD server: accepts TCP clients (or serves one already-connected stream: stdio,
// socket activation), caps the connections still negotiating (qemu CVE-2024-7409), and stops
// cleanly: no new clients, requests already received finish, every open export is flushed.

import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import { Connection } from './connection.js';
import type { ExportProvider, NbdClientInfo } from './export-provider.js';

export interface NbdServerOptions {
  provider: ExportProvider;
  log: Logger;
  /** A client must finish the handshake within this time (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Connections still negotiating at once; more are refused (default 64). */
  maxHandshaking?: number;
  /** Backpressure: stop reading a client above this many bytes held or queued (default 64 MiB). */
  maxInFlightBytesPerConnection?: number;
  /** Told when a connection has closed and released its export (stdio mode ends with its client). */
  onConnectionClosed?: (c: ConnectionSummary) => void;
}

export interface ConnectionSummary {
  id: number;
  address: string;
  port: number;
  exportName?: string;
  tlsIdentity?: string;
}

export class NbdServer {
  private readonly provider: ExportProvider;
  private readonly log: Logger;
  private readonly handshakeTimeoutMs: number;
  private readonly maxHandshaking: number;
  private readonly maxInFlightBytes: number;
  private readonly servers: Server[] = [];
  private readonly live = new Set<Connection>();
  private readonly handshaking = new Set<Connection>();
  private readonly onConnectionClosed?: (c: ConnectionSummary) => void;
  private nextId = 1;
  private closing?: Promise<void>;

  constructor(opts: NbdServerOptions) {
    this.provider = opts.provider;
    this.log = opts.log;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 10_000;
    this.maxHandshaking = opts.maxHandshaking ?? 64;
    this.maxInFlightBytes = opts.maxInFlightBytesPerConnection ?? 64 * 1024 * 1024;
    this.onConnectionClosed = opts.onConnectionClosed;
  }

  /** Listens on host:port (port 0 picks a free one) and resolves with the address bound. */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return this.listenOn({ host, port });
  }

  /** Listens on an inherited listening socket (systemd socket activation passes fd 3). */
  listenOnFd(fd: number): Promise<{ host: string; port: number }> {
    return this.listenOn({ fd });
  }

  /** Serve one already-connected duplex (stdio pair or an inherited LISTEN_FDS socket). */
  serveStream(
    input: NodeJS.ReadableStream,
    output: NodeJS.WritableStream,
    client: Omit<NbdClientInfo, 'id'>,
  ): void {
    const socket = (input as unknown) === output && isSocket(input) ? input : undefined;
    this.startConnection(input, output, socket, client.address, client.port);
  }

  /** Live connections: id, address, export name (for "which clients are connected"). */
  connections(): ConnectionSummary[] {
    return [...this.live].map(summarize);
  }

  /** Ask connections matching a predicate to finish in-flight requests and then close (policy changes). */
  async disconnectWhere(
    pred: (c: { exportName?: string; address: string; tlsIdentity?: string }) => boolean,
  ): Promise<void> {
    const matching = [...this.live].filter((c) =>
      pred({ exportName: c.exportName, address: c.address, tlsIdentity: c.tlsIdentity }),
    );
    await Promise.all(matching.map((c) => c.drainAndClose()));
  }

  /** Stop accepting, finish in-flight requests, flush every open export, close. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const stopped = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    await Promise.all([...this.live].map((c) => c.drainAndClose()));
    await Promise.all(stopped);
  }

  private listenOn(
    where: { host: string; port: number } | { fd: number },
  ): Promise<{ host: string; port: number }> {
    if (this.closing) return Promise.reject(new Error('the NBD server is closed'));
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    server.on('error', (err) => this.log.error(`listener error: ${err.message}`));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const listening = () => {
        server.removeListener('error', reject);
        this.servers.push(server);
        const address = server.address();
        if (address && typeof address === 'object') resolve({ host: address.address, port: address.port });
        else resolve({ host: String(address ?? 'fd'), port: 0 });
      };
      if ('fd' in where) server.listen({ fd: where.fd }, listening);
      else server.listen(where.port, where.host, listening);
    });
  }

  private accept(socket: Socket): void {
    // A reset before we looked at it must not become an uncaught 'error'.
    socket.on('error', () => {});
    // A UNIX socket (socket activation by libnbd) has no remote address.
    const address = socket.remoteAddress ?? 'unix';
    const port = socket.remotePort ?? 0;
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.handshaking.size >= this.maxHandshaking) {
      this.log.warn(`refused ${address}:${port}: ${this.handshaking.size} connections already negotiating`);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.startConnection(socket, socket, socket, address, port);
  }

  private startConnection(
    input: NodeJS.ReadableStream,
    output: NodeJS.WritableStream,
    socket: Socket | undefined,
    address: string,
    port: number,
  ): void {
    const conn = new Connection(
      { id: this.nextId++, input, output, socket, address, port },
      {
        provider: this.provider,
        log: this.log,
        handshakeTimeoutMs: this.handshakeTimeoutMs,
        maxInFlightBytes: this.maxInFlightBytes,
        onHandshakeEnd: (c) => this.handshaking.delete(c),
        onClosed: (c) => {
          this.handshaking.delete(c);
          this.live.delete(c);
          this.onConnectionClosed?.(summarize(c));
        },
      },
    );
    this.live.add(conn);
    this.handshaking.add(conn);
    void conn.run();
  }
}

function summarize(c: Connection): ConnectionSummary {
  return { id: c.id, address: c.address, port: c.port, exportName: c.exportName, tlsIdentity: c.tlsIdentity };
}

function isSocket(stream: unknown): stream is Socket {
  return (
    typeof (stream as Socket).setNoDelay === 'function' &&
    typeof (stream as Socket).remoteAddress !== 'undefined'
  );
}
