// The open terminal panes of this window (one per click on "Terminal"), and which one shows. Kept per
// Backend, so the appliance cards and the terminal dock share it without a change to the services root.

import type { TerminalTarget } from '../../../shared/bridge/index.js';
import type { Backend } from '../backend/backend.js';

export interface TerminalPaneInfo {
  key: number;
  title: string;
  target: TerminalTarget;
}

export class TerminalPanes {
  panes = $state.raw<TerminalPaneInfo[]>([]);
  active = $state<number | null>(null);
  #next = 1;

  open(target: TerminalTarget): void {
    const title = target.kind === 'local' ? 'Local shell' : target.appliance;
    const pane = { key: this.#next++, title, target };
    this.panes = [...this.panes, pane];
    this.active = pane.key;
  }

  close(key: number): void {
    const index = this.panes.findIndex((p) => p.key === key);
    this.panes = this.panes.filter((p) => p.key !== key);
    if (this.active === key) this.active = this.panes[Math.min(index, this.panes.length - 1)]?.key ?? null;
  }
}

const byBackend = new WeakMap<Backend, TerminalPanes>();

export function terminalPanes(backend: Backend): TerminalPanes {
  let panes = byBackend.get(backend);
  if (!panes) {
    panes = new TerminalPanes();
    byBackend.set(backend, panes);
  }
  return panes;
}
