// A client of the control RPC (used by `ferry-agent ctl` and by tests): connects to the UNIX socket,
// sends requests, matches replies by id, validates results with the method's schema, and turns
// error replies back into FerryErrors (code from error.data.code). Notifications go to onNotification.
//
//   const client = await RpcClient.connect('/run/ferry/agent.sock')
//   const pools = await client.call(poolList, {})
//   client.onNotification((method, params) => ...); await client.call(eventsSubscribe, {})
//   client.close()

import { createConnection, type Socket } from 'node:net';
import type { z } from 'zod';
import { FerryError, isErrorCode } from '../../shared/errors.js';
import {
  describeIssues,
  MAX_RPC_LINE_BYTES,
  type RpcMethod,
  rpcResponseSchema,
} from '../../shared/rpc/jsonrpc.js';
import { LineSplitter } from './line-splitter.js';

const DEFAULT_CALL_TIMEOUT_MS = 120_000;

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void; method: RpcMethod };
type NotificationListener = (method: string, params: unknown) => void;

export class RpcClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<NotificationListener>();
  private readonly closeListeners = new Set<(err?: Error) => void>();
  private closed = false;

  private constructor(private readonly socket: Socket) {
    const splitter = new LineSplitter(64 * MAX_RPC_LINE_BYTES);
    socket.on('data', (chunk: Buffer) => {
      for (const event of splitter.feed(chunk)) if (event.kind === 'line') this.receive(event.line);
    });
    socket.on('error', (err) => this.shutdown(err));
    socket.on('close', () => this.shutdown());
  }

  static connect(path: string, timeoutMs = 10_000): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new FerryError('ERR_UNREACHABLE', `no answer from the agent at ${path} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RpcClient(socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new FerryError(
            'ERR_UNREACHABLE',
            `cannot reach the agent's control socket ${path} (${err.code ?? err.message}); is \`ferry-agent serve\` running?`,
            { control: path },
          ),
        );
      });
    });
  }

  /**
   * Calls a method and resolves with its validated result. `timeoutMs` (default 120 s; 0: none)
   * bounds the wait for an agent that hangs: the call then fails with ERR_TIMEOUT.
   */
  call<M extends RpcMethod>(
    method: M,
    params?: z.input<M['params']>,
    opts: { timeoutMs?: number } = {},
  ): Promise<z.output<M['result']>> {
    if (this.closed)
      return Promise.reject(new FerryError('ERR_UNREACHABLE', 'the control connection is closed'));
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              if (!this.pending.delete(id)) return;
              reject(
                new FerryError(
                  'ERR_TIMEOUT',
                  `the agent did not answer ${method.name} within ${timeoutMs} ms`,
                ),
              );
            }, timeoutMs)
          : undefined;
      const settle =
        <T>(fn: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          fn(value);
        };
      this.pending.set(id, {
        resolve: settle(resolve as (v: unknown) => void),
        reject: settle(reject),
        method,
      });
      this.socket.write(
        `${JSON.stringify({ jsonrpc: '2.0', id, method: method.name, params: params ?? {} })}\n`,
      );
    });
  }

  /** Sends raw text as it is (tests of malformed input); replies without a pending id are ignored. */
  sendRaw(text: string): void {
    this.socket.write(text);
  }

  onNotification(listener: NotificationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onClose(listener: (err?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    this.socket.end();
    this.shutdown();
  }

  private receive(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    const m = message as { id?: unknown; method?: unknown; params?: unknown };
    if (typeof m.method === 'string' && m.id === undefined) {
      for (const listener of this.listeners) listener(m.method, m.params);
      return;
    }
    const parsed = rpcResponseSchema.safeParse(message);
    if (!parsed.success || typeof parsed.data.id !== 'number') return;
    const pending = this.pending.get(parsed.data.id);
    if (!pending) return;
    this.pending.delete(parsed.data.id);
    if ('error' in parsed.data) {
      const { error } = parsed.data;
      const code = isErrorCode(error.data?.code) ? error.data.code : 'ERR_INTERNAL';
      pending.reject(
        new FerryError(code, error.message, { rpcCode: error.code, ...(error.data?.details ?? {}) }),
      );
      return;
    }
    const result = pending.method.result.safeParse(parsed.data.result);
    if (!result.success) {
      pending.reject(
        new FerryError(
          'ERR_PROTOCOL',
          `the agent's reply to ${pending.method.name} is malformed: ${describeIssues(result.error)}`,
        ),
      );
      return;
    }
    pending.resolve(result.data);
  }

  private shutdown(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const reason = new FerryError(
      'ERR_UNREACHABLE',
      `the control connection closed${err ? ` (${err.message})` : ''} before the agent answered`,
    );
    for (const pending of this.pending.values()) pending.reject(reason);
    this.pending.clear();
    for (const listener of this.closeListeners) listener(err);
  }
}
