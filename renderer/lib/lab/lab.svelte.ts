// The local lab (`ferry lab up`): local appliances so a newcomer sees a move within a minute.

import type { LabStatus } from '../../../shared/bridge/index.js';
import type { Backend } from '../backend/backend.js';
import { explainError } from '../ui/explain-error.js';
import { PendingAction } from '../ui/pending-action.svelte.js';

export class LabService {
  status = $state.raw<LabStatus | null>(null);
  readonly #action = new PendingAction();

  constructor(private readonly backend: Backend) {}

  get busy(): boolean {
    return this.#action.busy;
  }
  get error() {
    return this.#action.error;
  }

  async load(): Promise<void> {
    try {
      this.status = await this.backend.call('lab.status');
    } catch (err) {
      this.#action.error = explainError(err);
    }
  }

  async up(appliances = 3): Promise<boolean> {
    return this.#run(() => this.backend.call('lab.up', { appliances }));
  }

  async down(): Promise<boolean> {
    return this.#run(() => this.backend.call('lab.down'));
  }

  #run(work: () => Promise<LabStatus>): Promise<boolean> {
    return this.#action.run(async () => {
      this.status = await work();
    });
  }
}
