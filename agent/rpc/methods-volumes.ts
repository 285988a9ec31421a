// RPC methods of the volume domain: volume.create, volume.list, volume.get, volume.delete.

import { volumeCreate, volumeDelete, volumeGet, volumeList } from '../../shared/rpc/volumes.js';
import type { AgentServices } from './agent-services.js';
import type { MethodTable } from './method-table.js';

export function registerVolumeMethods(table: MethodTable, services: AgentServices): void {
  table.register(volumeCreate, ({ name, size, pool }) => services.volumes.create(name, size, pool));
  table.register(volumeList, () => ({ volumes: services.volumes.list() }));
  table.register(volumeGet, ({ name }) => services.volumes.get(name));
  table.register(volumeDelete, async ({ name, expectEpoch, force }) => {
    await services.volumes.delete(name, { expectEpoch, force });
    return { name };
  });
}
