// The state of a dialog's or a button row's action: busy while it runs (its buttons disable on
// that) and the explained error when it failed, cleared when the next attempt starts.

import { type ExplainedError, explainError } from './explain-error.js';

export class PendingAction {
  busy = $state(false);
  error = $state<ExplainedError | null>(null);

  /** Runs `work`; a failure is shown as `error`, after `onError` has looked at it. */
  async run(work: () => Promise<void>, onError?: (err: unknown) => void): Promise<void> {
    this.busy = true;
    this.error = null;
    try {
      await work();
    } catch (err) {
      onError?.(err);
      this.error = explainError(err);
    } finally {
      this.busy = false;
    }
  }
}
