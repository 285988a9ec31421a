// RPC methods of the LV domain: lv.create, lv.list, lv.delete.

import { FerryError } from '../../shared/errors.js';
import { lvCreate, lvDelete, lvList } from '../../shared/rpc/lvs.js';
import type { AgentServices } from './agent-services.js';
import type { MethodTable } from './method-table.js';

export function registerLvMethods(table: MethodTable, services: AgentServices): void {
  table.register(lvCreate, ({ pool, name, size }) => services.pools.createLv(pool, name, size));
  table.register(lvList, async ({ pool }) => ({ lvs: await services.pools.listLvs(pool) }));
  table.register(lvDelete, async ({ pool, name, force }) => {
    // --force takes an LV from its peers (a move target exported to the source agent); an LV that a
    // volume maps stays refused whatever the flag: hosts use it through that volume (volume delete).
    const mapped = (await services.pools.listLvs(pool)).find((lv) => lv.name === name)?.mappedBy;
    if (mapped) {
      const clients = services.volumes.connectedClients(mapped);
      const who =
        clients.length > 0
          ? `; hosts connected: ${clients.join(', ')}; delete the volume instead (volume delete ${mapped})`
          : '';
      throw new FerryError('ERR_VOLUME_BUSY', `LV ${pool}/${name} is mapped by volume ${mapped}${who}`, {
        pool,
        lv: name,
        volume: mapped,
        clients,
      });
    }
    const lvExports = services.lvExports;
    let disconnected: string[] = [];
    if (force && lvExports?.isExported(pool, name)) disconnected = await lvExports.release(pool, name);
    await services.pools.deleteLv(pool, name);
    return disconnected.length > 0 ? { pool, name, disconnected } : { pool, name };
  });
}
