// RPC methods of the access domain: volume.access.get/set, volume.psk.add/list/remove
// (agent/access/volume-access.ts does the work).

import { FerryError } from '../../shared/errors.js';
import {
  volumeAccessGet,
  volumeAccessSet,
  volumePskAdd,
  volumePskList,
  volumePskRemove,
} from '../../shared/rpc/access.js';
import type { VolumeAccess } from '../access/volume-access.js';
import type { AgentServices } from './agent-services.js';
import type { MethodTable } from './method-table.js';

export function registerAccessMethods(table: MethodTable, services: AgentServices): void {
  const access = (): VolumeAccess => {
    if (!services.access) throw new FerryError('ERR_UNSUPPORTED', 'this agent has no access rules service');
    return services.access;
  };
  table.register(volumeAccessGet, async ({ name }) => ({ name, policy: access().policyOf(name) }));
  table.register(volumeAccessSet, async ({ name, ...change }) => ({
    name,
    ...(await access().update(name, change)),
  }));
  table.register(volumePskAdd, async ({ name, identity }) => ({
    name,
    ...(await access().addPsk(name, identity)),
  }));
  table.register(volumePskList, async ({ name }) => ({ psks: access().listPsks(name) }));
  table.register(volumePskRemove, async ({ name, identity }) => {
    await access().removePsk(name, identity);
    return { name, identity };
  });
}
