// Errors shown where the action was taken: the core's message (which already says what was wrong),
// plus what to do when the message does not say it, chosen by the stable FerryError code.

import { type ErrorCode, FerryError, isErrorCode } from '../../../shared/errors.js';

const WHAT_TO_DO: Partial<Record<ErrorCode, string>> = {
  ERR_UNREACHABLE: 'Check that the appliance is on and reachable from this computer, then try again.',
  ERR_AUTH: 'Check the user name and the key or password, then try again.',
  ERR_HOST_KEY:
    'Compare the fingerprint with the one the appliance shows (ssh-keygen -lf) before accepting it.',
  ERR_NO_SPACE: 'Free some space in that pool, or pick another pool.',
  ERR_TARGET_TOO_SMALL: 'Pick a pool with more free space.',
  ERR_VOLUME_BUSY: 'Wait for the current move of this volume to end, or abort it.',
  ERR_STALE_EPOCH: 'Another console changed this volume meanwhile. Refresh the inventory and try again.',
  ERR_ALREADY_EXISTS: 'Choose another name.',
  ERR_INVALID_NAME: "Use 1-64 characters of a-z, 0-9, '.', '_' or '-'.",
  ERR_INTERNAL: 'This is a bug in Ferry. The console log has the details.',
};

export interface ExplainedError {
  code: ErrorCode;
  message: string;
  /** What to do next, when the message does not already say it. */
  hint: string | null;
}

export function explainError(err: unknown): ExplainedError {
  const ferry =
    err instanceof FerryError
      ? err
      : new FerryError('ERR_INTERNAL', err instanceof Error ? err.message : String(err));
  const code = isErrorCode(ferry.code) ? ferry.code : 'ERR_INTERNAL';
  const message = ferry.message.charAt(0).toUpperCase() + ferry.message.slice(1);
  const saysWhatToDo = /:\s.*\b(use|pick|choose|check|run|free|wait|try|open)\b/i.test(ferry.message);
  return { code, message, hint: saysWhatToDo ? null : (WHAT_TO_DO[code] ?? null) };
}
