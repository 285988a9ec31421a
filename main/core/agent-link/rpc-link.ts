// The console's client of an agent's control RPC (JSON-RPC 2.0), transport-free: it sends and
// receives whole messages through an RpcTransport, so the same code runs over a local UNIX socket and
// over an ssh2 stream-local forward. Requests are matched by id, bounded by a timeout, and their
// results validated with the shared method schemas; error replies come back as FerryErrors with the
// agent's code; notifications (events) go to listeners.
import { type ErrorCode, ErrorCodes, FerryError, isErrorCode } from '../../../shared/errors.js';
import {
  type AgentEvent,
  agentEventSchema,
  EVENT_NOTIFICATION,
  eventsSubscribe,
} from '../../../shared/rpc/events.js';
import {
  describeIssues,
  type ParamsIn,
  type ResultOf,
  RpcErrorCode,
  type RpcMethod,
  rpcResponseSchema,
} from '../../../shared/rpc/jsonrpc.js';

/** Whole messages in, whole messages out; framing is the transport's business. */
export interface RpcTransport {
  send(message: string): void;
  onMessage(listener: (message: string) => void): void;
  onClose(listener: (err?: Error) => void): void;
  close(): void;
}

export interface CallOptions {
  /** Default: the link's defaultTimeoutMs (30 s). */
  timeoutMs?: number;
}

export interface AgentLinkOptions {
  defaultTimeoutMs?: number;
  /** Names the agent in error messages, e.g. "alpha (127.0.0.11)". */
  label?: string;
}

interface Pending {
  name: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

type NotificationListener = (method: string, params: unknown) => void;

function codeFromRpcNumber(rpc: number): ErrorCode | undefined {
  if (rpc === RpcErrorCode.METHOD_NOT_FOUND) return 'ERR_UNSUPPORTED';
  for (const [code, spec] of Object.entries(ErrorCodes)) if (spec.rpc === rpc) return code as ErrorCode;
  return undefined;
}

/** True when the agent does not know the method (an older agent): callers may fall back. */
export function isMethodNotFound(err: unknown): boolean {
  return err instanceof FerryError && err.details?.rpcCode === RpcErrorCode.METHOD_NOT_FOUND;
}

export class AgentLink {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly notificationListeners = new Set<NotificationListener>();
  private readonly closeListeners = new Set<(err?: Error) => void>();
  private closedValue = false;
  private readonly defaultTimeoutMs: number;
  readonly label: string;

  constructor(
    private readonly transport: RpcTransport,
    options: AgentLinkOptions = {},
  ) {
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    this.label = options.label ?? 'the agent';
    transport.onMessage((message) => this.receive(message));
    transport.onClose((err) => this.shutdown(err));
  }

  get closed(): boolean {
    return this.closedValue;
  }

  /** Calls a method declared in shared/rpc; the result is validated against its schema. */
  async call<M extends RpcMethod>(
    method: M,
    params?: ParamsIn<M>,
    options: CallOptions = {},
  ): Promise<ResultOf<M>> {
    const raw = await this.callRaw(method.name, params ?? {}, options);
    const checked = method.result.safeParse(raw);
    if (!checked.success) {
      throw new FerryError(
        'ERR_PROTOCOL',
        `${this.label} answered ${method.name} with a malformed result: ${describeIssues(checked.error)}`,
      );
    }
    return checked.data as ResultOf<M>;
  }

  /** Calls a method by name, unvalidated (for methods an older agent may lack: see isMethodNotFound). */
  callRaw(name: string, params: unknown = {}, options: CallOptions = {}): Promise<unknown> {
    if (this.closedValue) {
      return Promise.reject(
        new FerryError('ERR_UNREACHABLE', `the control connection to ${this.label} is closed`),
      );
    }
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new FerryError('ERR_TIMEOUT', `${this.label} did not answer ${name} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { name, resolve, reject, timer });
      this.transport.send(JSON.stringify({ jsonrpc: '2.0', id, method: name, params }));
    });
  }

  /** Every notification the agent pushes (method name and params as sent). */
  onNotification(listener: NotificationListener): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  /** Agent events (the 'event' notification), validated; call subscribe() to start receiving them. */
  onEvent(listener: (event: AgentEvent) => void): () => void {
    return this.onNotification((method, params) => {
      if (method !== EVENT_NOTIFICATION) return;
      const event = agentEventSchema.safeParse(params);
      if (event.success) listener(event.data);
    });
  }

  /** Asks the agent to push events on this connection, replaying those after `since`. */
  subscribe(since?: number, options?: CallOptions): Promise<{ lastSeq: number }> {
    return this.call(eventsSubscribe, since === undefined ? {} : { since }, options);
  }

  onClose(listener: (err?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Idempotent; pending calls fail with ERR_UNREACHABLE. */
  close(): void {
    if (this.closedValue) return;
    this.transport.close();
    this.shutdown();
  }

  private receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return; // not JSON: ignore the line, never crash on what a peer sends
    }
    const m = message as { id?: unknown; method?: unknown; params?: unknown } | null;
    if (m && typeof m.method === 'string' && m.id === undefined) {
      for (const listener of this.notificationListeners) {
        try {
          listener(m.method, m.params);
        } catch {
          // a listener's bug must not break the link
        }
      }
      return;
    }
    const parsed = rpcResponseSchema.safeParse(message);
    if (!parsed.success || typeof parsed.data.id !== 'number') return;
    const pending = this.pending.get(parsed.data.id);
    if (!pending) return;
    this.pending.delete(parsed.data.id);
    clearTimeout(pending.timer);
    if ('error' in parsed.data) {
      const { error } = parsed.data;
      const code = isErrorCode(error.data?.code)
        ? error.data.code
        : (codeFromRpcNumber(error.code) ?? 'ERR_INTERNAL');
      pending.reject(
        new FerryError(code, error.message, { rpcCode: error.code, ...(error.data?.details ?? {}) }),
      );
      return;
    }
    pending.resolve(parsed.data.result);
  }

  private shutdown(err?: Error): void {
    if (this.closedValue) return;
    this.closedValue = true;
    const reason = new FerryError(
      'ERR_UNREACHABLE',
      `the control connection to ${this.label} closed${err ? ` (${err.message})` : ''}`,
    );
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(reason);
    }
    this.pending.clear();
    for (const listener of this.closeListeners) listener(err);
  }
}
