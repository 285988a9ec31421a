// The control RPC over a UNIX socket: newline-delimited JSON-RPC 2.0, one MethodTable for every
// connection. A connection's bad input gets an error reply, never a crash; a connection that does
// not read what we send (a stuck event subscriber) is dropped once its backlog passes a bound.

import { createServer, type Server, type Socket } from 'node:net';
import { MAX_RPC_LINE_BYTES, RpcErrorCode } from '../../shared/rpc/jsonrpc.js';
import type { Logger } from '../log.js';
import { listenPrivate, prepareSocketPath } from './control-socket.js';
import { LineSplitter } from './line-splitter.js';
import type { CallContext, MethodTable } from './method-table.js';

/** Unsent bytes a connection may accumulate before it is dropped. */
const MAX_UNSENT_BYTES = 16 * 1024 * 1024;

export class RpcServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private nextId = 1;

  constructor(
    private readonly table: MethodTable,
    private readonly log: Logger,
  ) {}

  async listen(path: string): Promise<void> {
    await prepareSocketPath(path);
    // allowHalfOpen: a client may send its requests and shut down its side; it still gets the replies.
    const server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    server.on('error', (err) => this.log.error(`control socket: ${err.message}`));
    await listenPrivate(server, path);
    this.server = server;
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Stops accepting, lets replies in progress go out briefly, closes connections, removes the socket. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.end();
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, 1000);
    await closed;
    clearTimeout(timer);
    // server.close() unlinks the socket file itself.
  }

  private accept(socket: Socket): void {
    const id = this.nextId++;
    this.sockets.add(socket);
    const splitter = new LineSplitter(MAX_RPC_LINE_BYTES);
    const cleanups: Array<() => void> = [];
    let pending = 0;
    let inputEnded = false;
    const endIfDone = () => {
      if (inputEnded && pending === 0 && !socket.destroyed) socket.end();
    };
    const send = (message: unknown) => {
      if (socket.destroyed || !socket.writable) return;
      if (socket.writableLength > MAX_UNSENT_BYTES) {
        this.log.warn(`control connection ${id} does not read its replies; dropping it`);
        socket.destroy();
        return;
      }
      socket.write(`${JSON.stringify(message)}\n`);
    };
    const ctx: CallContext = {
      connectionId: id,
      notify: (method, params) => send({ jsonrpc: '2.0', method, params }),
      onClose: (fn) => cleanups.push(fn),
    };
    socket.on('data', (chunk: Buffer) => {
      for (const event of splitter.feed(chunk)) {
        if (event.kind === 'overflow') {
          send({
            jsonrpc: '2.0',
            id: null,
            error: {
              code: RpcErrorCode.INVALID_REQUEST,
              message: `request line longer than ${MAX_RPC_LINE_BYTES} bytes; it was discarded`,
              data: { code: 'ERR_INVALID_ARGUMENT' },
            },
          });
          continue;
        }
        pending++;
        this.table
          .handle(event.line, ctx)
          .then(
            (response) => {
              if (response) send(response);
            },
            (err) => this.log.error(`control connection ${id}: ${(err as Error).stack}`),
          )
          .finally(() => {
            pending--;
            endIfDone();
          });
      }
    });
    socket.on('end', () => {
      inputEnded = true;
      endIfDone();
    });
    socket.on('error', (err) => this.log.warn(`control connection ${id}: ${err.message}`));
    socket.on('close', () => {
      this.sockets.delete(socket);
      for (const fn of cleanups.splice(0)) {
        try {
          fn();
        } catch {
          // Cleanup of one subscription must not prevent the others.
        }
      }
    });
  }
}
