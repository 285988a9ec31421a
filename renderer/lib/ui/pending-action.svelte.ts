// The state of an action started from the UI (a dialog's submit, a button row, a store's calls):
// busy while it runs (its buttons disable on that) and the explained error when it failed, cleared
// when the next attempt starts.

import { type ExplainedError, explainError } from './explain-error.js';

export class PendingAction {
  busy = $state(false);
  error = $state<ExplainedError | null>(null);

  /** Runs `work`; a failure is shown as `error`, after `onError` has looked at it. True if it worked. */
  async run(work: () => Promise<void>, onError?: (err: unknown) => void): Promise<boolean> {
    this.busy = true;
    this.error = null;
    try {
      await work();
      return true;
    } catch (err) {
      onError?.(err);
      this.error = explainError(err);
      return false;
    } finally {
      this.busy = false;
    }
  }
}
