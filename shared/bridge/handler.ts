// The transport-free interface the console core implements, and the one place that validates a call
// against the contract. Shells (browser WebSocket, Electron IPC) are thin adapters: they decode a
// message, hand it to `validatedCall`, and encode what comes back. Errors are FerryErrors, codes
// unchanged (shared/errors.ts).

import { FerryError, toFerryError } from '../errors.js';
import { describeIssues } from '../zod-issues.js';
import { type BridgeEvent, type BridgeEventListener, bridgeEventSchema } from './events.js';
import {
  bridgeMethods,
  isMethodName,
  type MethodName,
  type ResultOf,
  type ValidParamsOf,
} from './methods.js';
import type { CallOutcome } from './preload-api.js';
import { errorInfoOf } from './wire.js';

export interface BridgeHandler {
  /** `params` are already validated (defaults filled in); throw a FerryError to refuse. */
  call<M extends MethodName>(method: M, params: ValidParamsOf<M>): Promise<ResultOf<M>>;
  /** Receives every event until the returned function is called (safe to call twice). */
  subscribe(listener: BridgeEventListener): () => void;
}

/** The same as a map, one function per method: what the core may find easier to implement. */
export type BridgeMethodImplementations = {
  [M in MethodName]: (params: ValidParamsOf<M>) => Promise<ResultOf<M>>;
};

export function bridgeHandlerFrom(
  methods: BridgeMethodImplementations,
  subscribe: (listener: BridgeEventListener) => () => void,
): BridgeHandler {
  return {
    call: (method, params) => methods[method](params),
    subscribe,
  };
}

/** "to.pool: must be 1-64 characters ...; throttleBps: must be a positive rate" */
export { describeIssues as describeZodIssues } from '../zod-issues.js';

/** Checks the method and params; a refusal names the field and never reaches the handler. */
export function parseCall(
  method: unknown,
  params: unknown,
): { method: MethodName; params: ValidParamsOf<MethodName> } {
  if (!isMethodName(method)) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `unknown bridge method ${JSON.stringify(method)}`, {
      method,
    });
  }
  const parsed = bridgeMethods[method].params.safeParse(params ?? {});
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.map(String).join('.'));
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `invalid parameters for ${method}: ${describeIssues(parsed.error)}`,
      { method, fields },
    );
  }
  return { method, params: parsed.data as ValidParamsOf<MethodName> };
}

/**
 * Validates the call, runs it, and checks the result against the contract too, so a core bug shows up
 * as a clear ERR_INTERNAL here rather than as a broken screen.
 */
export async function validatedCall(
  handler: BridgeHandler,
  method: unknown,
  params: unknown,
): Promise<unknown> {
  const call = parseCall(method, params);
  let result: unknown;
  try {
    result = await handler.call(call.method, call.params);
  } catch (err) {
    throw toFerryError(err);
  }
  const checked = bridgeMethods[call.method].result.safeParse(result);
  if (!checked.success) {
    throw new FerryError(
      'ERR_INTERNAL',
      `the console core returned an invalid result for ${call.method}: ${describeIssues(checked.error)}`,
      { method: call.method },
    );
  }
  return checked.data;
}

/** Returns the event if it matches the contract, or a FerryError saying which field is wrong. */
export function checkEvent(event: unknown): BridgeEvent | FerryError {
  const parsed = bridgeEventSchema.safeParse(event);
  if (parsed.success) return parsed.data;
  return new FerryError('ERR_INTERNAL', `invalid bridge event: ${describeIssues(parsed.error)}`);
}

/** validatedCall as an outcome object, for transports that cannot carry a thrown FerryError (Electron IPC). */
export async function settleCall(
  handler: BridgeHandler,
  method: unknown,
  params: unknown,
): Promise<CallOutcome> {
  try {
    return { ok: true, result: await validatedCall(handler, method, params) };
  } catch (err) {
    return { ok: false, error: errorInfoOf(toFerryError(err)) };
  }
}
