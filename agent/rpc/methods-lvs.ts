// RPC methods of the LV domain: lv.create, lv.list, lv.delete.

import { lvCreate, lvDelete, lvList } from '../../shared/rpc/lvs.js';
import type { AgentServices } from './agent-services.js';
import type { MethodTable } from './method-table.js';

export function registerLvMethods(table: MethodTable, services: AgentServices): void {
  table.register(lvCreate, ({ pool, name, size }) => services.pools.createLv(pool, name, size));
  table.register(lvList, async ({ pool }) => ({ lvs: await services.pools.listLvs(pool) }));
  table.register(lvDelete, async ({ pool, name }) => {
    await services.pools.deleteLv(pool, name);
    return { pool, name };
  });
}
