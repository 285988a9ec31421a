// RPC method `info`: the agent's version, addresses, pools and volumes in one call.

import { agentInfo } from '../../shared/rpc/info.js';
import type { AgentServices } from './agent-services.js';
import type { MethodTable } from './method-table.js';

export function registerInfoMethods(table: MethodTable, services: AgentServices): void {
  table.register(agentInfo, async () => ({
    ...services.identity(),
    pools: await services.pools.list(),
    volumes: services.volumes.list(),
  }));
}
