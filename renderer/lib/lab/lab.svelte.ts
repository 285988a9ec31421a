// The local lab (`ferry lab up`): local appliances so a newcomer sees a move within a minute.

import type { LabStatus } from '../../../shared/bridge/index.js';
import type { Backend } from '../backend/backend.js';
import { type ExplainedError, explainError } from '../ui/explain-error.js';

export class LabService {
  status = $state.raw<LabStatus | null>(null);
  busy = $state(false);
  error = $state<ExplainedError | null>(null);

  constructor(private readonly backend: Backend) {}

  async load(): Promise<void> {
    try {
      this.status = await this.backend.call('lab.status');
    } catch (err) {
      this.error = explainError(err);
    }
  }

  async up(appliances = 3): Promise<boolean> {
    return this.#run(() => this.backend.call('lab.up', { appliances }));
  }

  async down(): Promise<boolean> {
    return this.#run(() => this.backend.call('lab.down'));
  }

  async #run(work: () => Promise<LabStatus>): Promise<boolean> {
    this.busy = true;
    this.error = null;
    try {
      this.status = await work();
      return true;
    } catch (err) {
      this.error = explainError(err);
      return false;
    } finally {
      this.busy = false;
    }
  }
}
