// The composition root's product: every service, built once over one Backend, wired to the core's
// event streams, and handed to components through Svelte context (getServices()).

import { getContext } from 'svelte';
import type { Backend } from './backend/backend.js';
import { InventoryService } from './inventory/inventory.svelte.js';
import { LabService } from './lab/lab.svelte.js';
import { MovesService } from './moves/moves.svelte.js';
import { PlansService } from './plans/plans.svelte.js';
import { ConnectionService } from './ui/connection.svelte.js';
import { NotificationsService } from './ui/notifications.svelte.js';
import { WorkspaceService } from './ui/workspace.svelte.js';

export interface Services {
  backend: Backend;
  connection: ConnectionService;
  inventory: InventoryService;
  moves: MovesService;
  plans: PlansService;
  lab: LabService;
  notifications: NotificationsService;
  workspace: WorkspaceService;
  /** Loads everything and follows the event streams; returns the teardown. */
  start(): () => void;
}

export const SERVICES_KEY = Symbol('ferry.services');

export function createServices(backend: Backend): Services {
  const notifications = new NotificationsService();
  const inventory = new InventoryService(backend);
  const moves = new MovesService(backend, notifications);
  const plans = new PlansService(backend, notifications);
  const lab = new LabService(backend);
  const connection = new ConnectionService();

  const loadAll = () => Promise.all([inventory.load(), moves.load(), lab.load()]);

  return {
    backend,
    connection,
    inventory,
    moves,
    plans,
    lab,
    notifications,
    workspace: new WorkspaceService(),
    start() {
      const unsubscribe = backend.subscribe((event) => {
        switch (event.type) {
          case 'inventory.changed':
            inventory.apply(event.payload);
            break;
          case 'appliance.status':
            inventory.applyStatus(event.payload);
            break;
          case 'move.progress':
            moves.progress(event.payload);
            break;
          case 'plan.progress':
            plans.onProgress(event.payload);
            break;
        }
      });
      let wasOpen = false;
      const unwatch = backend.onConnection((state) => {
        connection.state = state;
        // After a reconnect the core may have moved on: read everything again.
        if (state === 'open' && wasOpen)
          void loadAll().then(() => (plans.planMode ? plans.load() : undefined));
        if (state === 'open') wasOpen = true;
      });
      void loadAll();
      return () => {
        unsubscribe();
        unwatch();
      };
    },
  };
}

export function getServices(): Services {
  return getContext<Services>(SERVICES_KEY);
}
