// The control RPC's envelope: JSON-RPC 2.0, one message per line (newline-delimited) on the agent's
// UNIX socket. A method is declared once here (name + zod schemas of params and result) and both the
// agent and every client validate against the same declaration.

import { z } from 'zod';

/** A line longer than this (without its newline) is refused with INVALID_REQUEST. */
export const MAX_RPC_LINE_BYTES = 1024 * 1024;

/** JSON-RPC 2.0 standard error codes; Ferry's own codes come from shared/errors.ts (ErrorCodes[*].rpc). */
export const RpcErrorCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
} as const;

export interface RpcMethod<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly params: P;
  readonly result: R;
}

export function defineMethod<P extends z.ZodType, R extends z.ZodType>(
  name: string,
  params: P,
  result: R,
): RpcMethod<P, R> {
  return { name, params, result };
}

/** What a caller passes (before defaults are applied). */
export type ParamsIn<M extends RpcMethod> = z.input<M['params']>;
/** What a handler receives (after validation and defaults). */
export type ParamsOut<M extends RpcMethod> = z.output<M['params']>;
export type ResultOf<M extends RpcMethod> = z.output<M['result']>;

const idSchema = z.union([z.string(), z.number(), z.null()]);

export const rpcRequestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: idSchema.optional(),
  method: z.string().min(1),
  params: z.unknown().optional(),
});
export type RpcRequest = z.infer<typeof rpcRequestSchema>;

export const rpcErrorDataSchema = z.looseObject({
  code: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const rpcErrorSchema = z.object({
  code: z.number().int(),
  message: z.string(),
  data: rpcErrorDataSchema.optional(),
});
export type RpcError = z.infer<typeof rpcErrorSchema>;

export const rpcResponseSchema = z.union([
  z.object({ jsonrpc: z.literal('2.0'), id: idSchema, result: z.unknown() }),
  z.object({ jsonrpc: z.literal('2.0'), id: idSchema, error: rpcErrorSchema }),
]);
export type RpcResponse = z.infer<typeof rpcResponseSchema>;

export const rpcNotificationSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string(),
  params: z.unknown().optional(),
});

export { describeIssues } from '../zod-issues.js';
