// The control RPC's dispatcher, transport-free: methods are registered with their shared/ schema,
// and handle(text) turns one JSON-RPC line into one reply (or none, for a notification). Params are
// validated before the handler runs (-32602 naming the field and why), results after it (a reply
// that does not match its schema is a bug: -32603, logged). FerryErrors keep their code in
// error.data.code.
//
// Domains register themselves from their own module (methods-pools.ts, methods-moves.ts, ...):
//   table.register(poolAdd, async (params, ctx) => ...)

import type { z } from 'zod';
import { ErrorCodes, FerryError, toFerryError } from '../../shared/errors.js';
import {
  describeIssues,
  type RpcError,
  RpcErrorCode,
  type RpcMethod,
  type RpcResponse,
  rpcRequestSchema,
} from '../../shared/rpc/jsonrpc.js';
import type { Logger } from '../log.js';

/** What a handler knows about the connection that called it. */
export interface CallContext {
  connectionId: number;
  /** Sends a notification to this connection only (event pushes). */
  notify(method: string, params: unknown): void;
  /** Registers cleanup for when this connection closes. */
  onClose(fn: () => void): void;
}

export type Handler<M extends RpcMethod> = (
  params: z.output<M['params']>,
  ctx: CallContext,
) => Promise<z.input<M['result']>> | z.input<M['result']>;

interface Entry {
  method: RpcMethod;
  handler: (params: unknown, ctx: CallContext) => unknown;
}

type Id = string | number | null;

export class MethodTable {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly log: Logger) {}

  register<M extends RpcMethod>(method: M, handler: Handler<M>): void {
    if (this.entries.has(method.name)) throw new Error(`RPC method ${method.name} registered twice`);
    this.entries.set(method.name, { method, handler: handler as Entry['handler'] });
  }

  methodNames(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** One request line in, one reply out (undefined for a notification). Never throws. */
  async handle(text: string, ctx: CallContext): Promise<RpcResponse | undefined> {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (err) {
      return reply(null, {
        code: RpcErrorCode.PARSE_ERROR,
        message: `invalid JSON: ${(err as Error).message}`,
      });
    }
    if (Array.isArray(message)) {
      return reply(null, { code: RpcErrorCode.INVALID_REQUEST, message: 'batch requests are not supported' });
    }
    const request = rpcRequestSchema.safeParse(message);
    if (!request.success) {
      const id = idOf(message);
      return reply(id, {
        code: RpcErrorCode.INVALID_REQUEST,
        message: `invalid JSON-RPC 2.0 request: ${describeIssues(request.error)}`,
      });
    }
    const { id, method: name, params } = request.data;
    const isNotification = id === undefined;
    const response = await this.dispatch(name, params, ctx, id ?? null);
    return isNotification ? undefined : response;
  }

  private async dispatch(name: string, rawParams: unknown, ctx: CallContext, id: Id): Promise<RpcResponse> {
    const entry = this.entries.get(name);
    if (!entry) {
      return reply(id, {
        code: RpcErrorCode.METHOD_NOT_FOUND,
        message: `unknown method ${JSON.stringify(name)}`,
      });
    }
    const params = entry.method.params.safeParse(rawParams);
    if (!params.success) {
      return reply(id, {
        code: RpcErrorCode.INVALID_PARAMS,
        message: `invalid params for ${name}: ${describeIssues(params.error)}`,
        data: { code: 'ERR_INVALID_ARGUMENT' },
      });
    }
    let result: unknown;
    try {
      result = await entry.handler(params.data, ctx);
    } catch (err) {
      const ferry = asFerryError(err);
      if (ferry.code === 'ERR_INTERNAL')
        this.log.error(`${name} failed: ${(err as Error)?.stack ?? ferry.message}`);
      return reply(id, errorOf(ferry));
    }
    const checked = entry.method.result.safeParse(result);
    if (!checked.success) {
      this.log.error(
        `${name} produced a reply that does not match its schema: ${describeIssues(checked.error)}`,
      );
      return reply(id, {
        code: RpcErrorCode.INTERNAL_ERROR,
        message: `internal error: the reply of ${name} is malformed`,
        data: { code: 'ERR_INTERNAL' },
      });
    }
    return { jsonrpc: '2.0', id, result: checked.data };
  }
}

export function errorOf(err: FerryError): RpcError {
  return {
    code: ErrorCodes[err.code].rpc,
    message: err.message,
    data: { code: err.code, ...(err.details ? { details: err.details } : {}) },
  };
}

/** A system call's failure (ENOSPC writing the state, EACCES on a pool folder) is an I/O error, not a bug. */
function asFerryError(err: unknown): FerryError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (!(err instanceof FerryError) && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) {
    return new FerryError('ERR_IO', (err as Error).message, { errno: code });
  }
  return toFerryError(err);
}

function reply(id: Id, error: RpcError): RpcResponse {
  return { jsonrpc: '2.0', id, error };
}

function idOf(message: unknown): Id {
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
