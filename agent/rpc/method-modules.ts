// Every domain's RPC methods, registered in one place. A new domain (the move engine's
// methods-moves.ts) adds its register function to this list.

import type { AgentServices } from './agent-services.js';
import type { MethodTable } from './method-table.js';
import { registerAccessMethods } from './methods-access.js';
import { registerEventMethods } from './methods-events.js';
import { registerInfoMethods } from './methods-info.js';
import { registerLvMethods } from './methods-lvs.js';
import { registerMoveMethods } from './methods-moves.js';
import { registerPoolMethods } from './methods-pools.js';
import { registerVolumeMethods } from './methods-volumes.js';

export type MethodModule = (table: MethodTable, services: AgentServices) => void;

export const methodModules: MethodModule[] = [
  registerPoolMethods,
  registerLvMethods,
  registerVolumeMethods,
  registerInfoMethods,
  registerEventMethods,
  registerMoveMethods,
  registerAccessMethods,
];
