// What the admin is doing right now: which dialog is open and for what. Kept apart from the domain
// services so that a dialog opening never re-renders the inventory.

import type { PoolRef } from '../../../shared/bridge/index.js';

export type OpenDialog =
  | { kind: 'move'; volume: string; to: PoolRef }
  | { kind: 'moveTo'; volume: string }
  | { kind: 'history'; volume: string }
  | { kind: 'access'; volume: string }
  | { kind: 'addAppliance' }
  | { kind: 'addPool'; appliance: string }
  | { kind: 'createVolume'; on: PoolRef | null };

export class WorkspaceService {
  dialog = $state.raw<OpenDialog | null>(null);
  /** Element to give focus back to when a dialog closes (keyboard users land where they were). */
  #returnFocus: HTMLElement | null = null;

  open(dialog: OpenDialog): void {
    const active = document.activeElement;
    this.#returnFocus = active instanceof HTMLElement ? active : null;
    this.dialog = dialog;
  }

  close(): void {
    this.dialog = null;
    const target = this.#returnFocus;
    this.#returnFocus = null;
    if (target?.isConnected) queueMicrotask(() => target.focus());
  }
}
