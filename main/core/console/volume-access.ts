// Who may reach a volume, seen and changed from the console: the rules live with the vv on the agent
// that serves it (and stay with it through moves, since a move changes only the mapping); every
// change is recorded in the console's audit log.
import { FerryError } from '../../../shared/errors.js';
import { volumeAccessGet, volumeAccessSet } from '../../../shared/rpc/access.js';
import type { Store } from '../store/store.js';
import type { ApplianceLinks } from './appliance-links.js';

export interface AccessChange {
  allow?: string[];
  denyAll?: boolean;
  readOnly?: boolean;
  hostTls?: 'off' | 'allow' | 'require';
}

async function frontLink(store: Store, links: ApplianceLinks, volume: string) {
  const vv = store.volumes.get(volume);
  if (!vv) throw new FerryError('ERR_NOT_FOUND', `no volume named ${volume}: run ferry inventory --refresh`);
  const front = vv.frontApplianceId === null ? undefined : store.appliances.getById(vv.frontApplianceId);
  if (!front)
    throw new FerryError('ERR_NOT_FOUND', `no appliance is known to serve ${volume}: refresh the inventory`);
  return { link: await links.get(front.name), front: front.name };
}

export async function getVolumeAccess(store: Store, links: ApplianceLinks, volume: string) {
  const { link } = await frontLink(store, links, volume);
  return link.call(volumeAccessGet, { name: volume });
}

export async function setVolumeAccess(
  store: Store,
  links: ApplianceLinks,
  volume: string,
  change: AccessChange,
) {
  if (Object.values(change).every((v) => v === undefined)) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      'nothing to change: give --allow, --deny-all, --read-only, --read-write or --host-tls',
    );
  }
  const { link, front } = await frontLink(store, links, volume);
  const result = await link.call(volumeAccessSet, { name: volume, ...change });
  store.audit.record('volume.access', volume, {
    appliance: front,
    change,
    disconnected: result.disconnected,
  });
  return result;
}
