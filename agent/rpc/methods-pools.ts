// RPC methods of the pools domain: pool.add, pool.list, pool.remove.

import { poolAdd, poolList, poolRemove } from '../../shared/rpc/pools.js';
import type { AgentServices } from './agent-services.js';
import type { MethodTable } from './method-table.js';

export function registerPoolMethods(table: MethodTable, services: AgentServices): void {
  table.register(poolAdd, (params) => services.pools.add(params));
  table.register(poolList, async () => ({ pools: await services.pools.list() }));
  table.register(poolRemove, async ({ name }) => {
    await services.pools.remove(name);
    return { name };
  });
}
