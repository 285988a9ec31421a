// FerryError: one error type with stable codes, carried unchanged across the agent's control RPC,
// the console's bridge and the CLI (whose exit codes map from them). Tests assert the code.

export const ErrorCodes = {
  ERR_INVALID_ARGUMENT: { exit: 2, rpc: -32602 },
  ERR_INVALID_NAME: { exit: 2, rpc: -32602 },
  ERR_INVALID_SIZE: { exit: 2, rpc: -32602 },
  ERR_NOT_FOUND: { exit: 3, rpc: -32001 },
  ERR_ALREADY_EXISTS: { exit: 4, rpc: -32002 },
  ERR_NO_SPACE: { exit: 5, rpc: -32003 },
  ERR_VOLUME_BUSY: { exit: 6, rpc: -32004 },
  ERR_STALE_EPOCH: { exit: 7, rpc: -32005 },
  ERR_IO: { exit: 8, rpc: -32006 },
  ERR_UNREACHABLE: { exit: 9, rpc: -32007 },
  ERR_AUTH: { exit: 10, rpc: -32008 },
  ERR_HOST_KEY: { exit: 11, rpc: -32009 },
  ERR_UNSAFE_DEVICE: { exit: 12, rpc: -32010 },
  ERR_MOVE_STATE: { exit: 13, rpc: -32011 },
  ERR_TARGET_TOO_SMALL: { exit: 14, rpc: -32012 },
  ERR_TLS: { exit: 15, rpc: -32013 },
  ERR_UNSUPPORTED: { exit: 16, rpc: -32014 },
  ERR_SHUTTING_DOWN: { exit: 17, rpc: -32015 },
  ERR_PROTOCOL: { exit: 18, rpc: -32016 },
  ERR_TIMEOUT: { exit: 19, rpc: -32017 },
  ERR_INTERNAL: { exit: 70, rpc: -32603 },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'FerryError';
    this.code = code;
    this.details = details;
  }

  get exitCode(): number {
    return ErrorCodes[this.code].exit;
  }

  toJSON() {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}

/** Turns anything thrown into a FerryError, keeping a FerryError as it is. */
export function toFerryError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FerryError('ERR_INTERNAL', message);
}
