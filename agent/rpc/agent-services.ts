// What the RPC method modules work with: the agent's services, built once by the daemon.
// The move engine adds its own service here (an optional field) and its methods-moves.ts module.

import type { VolumeAccess } from '../access/volume-access.js';
import type { LvExportService } from '../move/lv-export-service.js';
import type { MoveManager } from '../move/move-manager.js';
import type { PoolService } from '../pools/pool-service.js';
import type { VolumeManager } from '../volumes/volume-manager.js';
import type { EventBus } from './event-bus.js';

export interface AgentIdentity {
  version: string;
  pid: number;
  startedAt: string;
  stateDir: string;
  control: string;
  nbd: { host: string; port: number };
}

export interface AgentServices {
  pools: PoolService;
  volumes: VolumeManager;
  events: EventBus;
  /** The move engine's services (agent/move); absent in tests that build services by hand. */
  moves?: MoveManager;
  lvExports?: LvExportService;
  /** Who may reach each volume (agent/access); absent in tests that build services by hand. */
  access?: VolumeAccess;
  identity(): AgentIdentity;
}
