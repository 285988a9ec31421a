// Opens the backend chain for a mapping: a local LV through the file backend (a file or a block
// device), or a remote LV through the NBD client's backend. Both openers are injected by the daemon,
// so this module builds without them and tests can pass their own. Remote mappings stay unsupported
// (ERR_UNSUPPORTED, with the reason) until an opener is given.

import { FerryError } from '../../shared/errors.js';
import type { Mapping } from '../../shared/rpc/common.js';
import type { BlockBackend } from '../backend/block-backend.js';
import type { LvRecord } from '../state/inventory.js';

export type LocalLvOpener = (
  path: string,
  opts: { readOnly?: boolean; isBlockDevice?: boolean },
) => Promise<BlockBackend>;

export interface RemoteOpenOptions {
  url: string;
  pskIdentity: string;
  pskKey: Buffer;
  timeoutMs: number;
  /**
   * What the connection carries: a move's bulk copy, or the small mirrored host writes of a move
   * (latency first). Default: a vv's own I/O.
   */
  lane?: 'copy' | 'mirror';
}
export type RemoteOpener = (opts: RemoteOpenOptions) => Promise<BlockBackend>;

export interface ChainFactoryDeps {
  openLocal: LocalLvOpener;
  openRemote?: RemoteOpener;
  /** Finds the LV record (and whether its pool holds block devices) for a local mapping. */
  lookupLv(pool: string, lv: string): { lv: LvRecord; isBlockDevice: boolean } | undefined;
  /** Remote I/O waits this long for a dropped link before failing requests (issue 3: 60 s). */
  remoteTimeoutMs?: number;
}

export class ChainFactory {
  constructor(private readonly deps: ChainFactoryDeps) {}

  /** Opens a local LV by its record (also one not yet committed to the inventory). */
  openLv(lv: LvRecord, isBlockDevice: boolean): Promise<BlockBackend> {
    return this.deps.openLocal(lv.path, { isBlockDevice });
  }

  /** `pskKey` is needed for a remote mapping (the vv's stored key, or a move target's key). */
  async open(mapping: Mapping, opts: { pskKey?: Buffer } = {}): Promise<BlockBackend> {
    if (mapping.kind === 'local') {
      const found = this.deps.lookupLv(mapping.pool, mapping.lv);
      if (!found) throw new FerryError('ERR_NOT_FOUND', `LV ${mapping.pool}/${mapping.lv} does not exist`);
      return this.openLv(found.lv, found.isBlockDevice);
    }
    if (!this.deps.openRemote) {
      throw new FerryError(
        'ERR_UNSUPPORTED',
        `cannot open ${mapping.url}: this agent has no NBD client backend for remote mappings yet`,
      );
    }
    const pskKey = opts.pskKey;
    if (!pskKey) {
      throw new FerryError(
        'ERR_TLS',
        `no PSK key is stored for ${mapping.url} (identity ${mapping.pskIdentity})`,
      );
    }
    return this.deps.openRemote({
      url: mapping.url,
      pskIdentity: mapping.pskIdentity,
      pskKey,
      timeoutMs: this.deps.remoteTimeoutMs ?? 60_000,
    });
  }
}
