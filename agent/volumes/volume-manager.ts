// Virtual volumes: their records (name, uuid, size, epoch, mapping) in the inventory, and the live
// VirtualVolume (I/O router) of each one that the NBD server serves.
//
// API for the move engine (issue 3):
//   vm.record(name)                      -> VolumeRecord (throws ERR_NOT_FOUND)
//   vm.virtualVolume(name)               -> VirtualVolume (hold/swapChain/release)
//   vm.withMappingLock(name, fn)         -> runs fn alone for this vv (cutover, delete)
//   vm.assertEpoch(name, expectEpoch)    -> ERR_STALE_EPOCH naming both epochs
//   vm.commitMapping(name, mapping, { expectEpoch, pskKey }) -> new record, epoch + 1, durable
//   vm.openChain(mapping, { pskKey })    -> a BlockBackend for a mapping (e.g. the move target)
//   vm.find(name) / vm.names() / vm.readPskKey(name) / vm.retryOpen(name)
// Cutover: withMappingLock(name, () => vv.withHold(async () => { flush target; commitMapping; swapChain }))
// Lock order: a vv's mapping lock, then the inventory transaction mutex.

import { randomUUID } from 'node:crypto';
import { FerryError } from '../../shared/errors.js';
import type { Mapping } from '../../shared/rpc/common.js';
import type { VolumeInfo } from '../../shared/rpc/volumes.js';
import type { BlockBackend } from '../backend/block-backend.js';
import type { Logger } from '../log.js';
import type { PoolService } from '../pools/pool-service.js';
import type { EventBus } from '../rpc/event-bus.js';
import { AsyncMutex } from '../state/async-mutex.js';
import type { Inventory, LvRecord, VolumeRecord } from '../state/inventory.js';
import type { StateStore } from '../state/state-store.js';
import type { ChainFactory } from './chain-factory.js';
import { VirtualVolume } from './virtual-volume.js';

export interface VolumeManagerDeps {
  inventory: Inventory;
  pools: PoolService;
  store: StateStore;
  chains: ChainFactory;
  events: EventBus;
  log: Logger;
  /** NBD connections that have a vv open now (from the export provider). */
  connectionCount?: (name: string) => number;
  /** Drops the NBD connections of a vv (volume delete --force). */
  disconnect?: (name: string) => Promise<void>;
  /** The clients connected to a vv, in words ('127.0.0.1:41234 (connection 3)'), for refusals. */
  connectedClients?: (name: string) => string[];
  /** The access rules a new vv starts with (agent/access); stored in its record. */
  initialAccess?: () => Record<string, unknown>;
}

export class VolumeManager {
  private readonly live = new Map<string, VirtualVolume>();
  private readonly unavailable = new Map<string, string>();
  private readonly locks = new Map<string, AsyncMutex>();

  constructor(private readonly deps: VolumeManagerDeps) {}

  /** Opens every vv's chain (at start). A vv that cannot be opened is kept, marked unavailable. */
  async openAll(): Promise<void> {
    for (const record of this.deps.inventory.snapshot().volumes) await this.tryOpen(record);
  }

  record(name: string): VolumeRecord {
    const record = this.deps.inventory.snapshot().volumes.find((v) => v.name === name);
    if (!record) throw new FerryError('ERR_NOT_FOUND', `volume ${name} does not exist`, { volume: name });
    return record;
  }

  /** The served VirtualVolume, or undefined when the vv is unknown or unavailable. */
  find(name: string): VirtualVolume | undefined {
    return this.live.get(name);
  }

  virtualVolume(name: string): VirtualVolume {
    this.record(name);
    const vv = this.live.get(name);
    if (!vv) {
      throw new FerryError(
        'ERR_IO',
        `volume ${name} is unavailable: ${this.unavailable.get(name) ?? 'not open'}`,
      );
    }
    return vv;
  }

  names(): string[] {
    return this.deps.inventory.snapshot().volumes.map((v) => v.name);
  }

  withMappingLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    let lock = this.locks.get(name);
    if (!lock) {
      lock = new AsyncMutex();
      this.locks.set(name, lock);
    }
    return lock.run(fn);
  }

  assertEpoch(name: string, expectEpoch: number | undefined): VolumeRecord {
    const record = this.record(name);
    if (expectEpoch !== undefined && expectEpoch !== record.epoch) {
      throw new FerryError(
        'ERR_STALE_EPOCH',
        `volume ${name} is at epoch ${record.epoch}, the request expected epoch ${expectEpoch}`,
        { volume: name, epoch: record.epoch, expectEpoch },
      );
    }
    return record;
  }

  openChain(mapping: Mapping, opts: { pskKey?: Buffer } = {}): Promise<BlockBackend> {
    return this.deps.chains.open(mapping, opts);
  }

  async create(name: string, size: number, poolName: string): Promise<VolumeInfo> {
    let createdLv: LvRecord | undefined;
    let chain: BlockBackend | undefined;
    try {
      const record = await this.deps.inventory.transaction(async (draft) => {
        if (draft.volumes.some((v) => v.name === name)) {
          throw new FerryError('ERR_ALREADY_EXISTS', `volume ${name} already exists`, { volume: name });
        }
        createdLv = await this.deps.pools.createLvInDraft(draft, poolName, name, size);
        const pool = this.deps.pools.pool(poolName, draft);
        chain = await this.deps.chains.openLv(createdLv, pool.isBlockDevice);
        const volume: VolumeRecord = {
          name,
          uuid: randomUUID(),
          size,
          epoch: 1,
          mapping: { kind: 'local', pool: poolName, lv: name },
          createdAt: new Date().toISOString(),
          ...(this.deps.initialAccess ? { access: this.deps.initialAccess() } : {}),
        };
        draft.volumes.push(volume);
        return volume;
      });
      this.live.set(name, new VirtualVolume(name, size, chain!));
      this.deps.events.publish({ type: 'volume.created', volume: name, uuid: record.uuid, size });
      return this.describe(record);
    } catch (err) {
      await chain?.close().catch(() => {});
      if (createdLv && !this.deps.inventory.snapshot().lvs.some((l) => l.path === createdLv!.path)) {
        await this.deps.pools
          .pool(poolName)
          .deleteLv(createdLv)
          .catch(() => {});
      }
      throw err;
    }
  }

  list(): VolumeInfo[] {
    return this.deps.inventory.snapshot().volumes.map((v) => this.describe(v));
  }

  get(name: string): VolumeInfo {
    return this.describe(this.record(name));
  }

  /** The NBD clients that have a vv open, in words, for refusals ('127.0.0.1:41234 (connection 3)'). */
  connectedClients(name: string): string[] {
    return this.deps.connectedClients?.(name) ?? [];
  }

  /** Deletes the vv and the local LV it maps. Refused while NBD clients have it open, unless force. */
  async delete(name: string, opts: { expectEpoch?: number; force?: boolean } = {}): Promise<void> {
    await this.withMappingLock(name, async () => {
      const record = this.assertEpoch(name, opts.expectEpoch);
      const connections = this.deps.connectionCount?.(name) ?? 0;
      if (connections > 0 && !opts.force) {
        const clients = this.deps.connectedClients?.(name) ?? [];
        const who = clients.length > 0 ? `: ${clients.join(', ')}` : '';
        throw new FerryError(
          'ERR_VOLUME_BUSY',
          `volume ${name} is open by ${connections} NBD connection(s)${who}; disconnect them or use --force`,
          { volume: name, connections, clients },
        );
      }
      if (connections > 0) await this.deps.disconnect?.(name);
      let lv: LvRecord | undefined;
      await this.deps.inventory.transaction((draft) => {
        const current = draft.volumes.find((v) => v.name === name);
        if (current?.mapping.kind === 'local') {
          lv = this.deps.pools.removeLvFromDraft(draft, current.mapping.pool, current.mapping.lv, name);
        }
        draft.volumes = draft.volumes.filter((v) => v.name !== name);
      });
      const vv = this.live.get(name);
      this.live.delete(name);
      this.unavailable.delete(name);
      await vv
        ?.close()
        .catch((err) => this.deps.log.warn(`closing volume ${name}: ${(err as Error).message}`));
      if (lv) await this.deps.pools.pool(lv.pool).deleteLv(lv);
      if (record.mapping.kind === 'remote') await this.deps.store.removeSecret(pskSecretName(name));
      this.deps.events.publish({ type: 'volume.deleted', volume: name, uuid: record.uuid });
    });
    this.locks.delete(name);
  }

  /**
   * Switches a vv's mapping durably with epoch + 1 (the caller swaps the VirtualVolume's chain).
   * Call it under withMappingLock. `pskKey` is stored (0600) for a remote mapping.
   */
  async commitMapping(
    name: string,
    mapping: Mapping,
    opts: { expectEpoch: number; pskKey?: Buffer },
  ): Promise<VolumeRecord> {
    if (mapping.kind === 'remote') {
      if (!opts.pskKey) throw new FerryError('ERR_INVALID_ARGUMENT', `a remote mapping needs its PSK key`);
      await this.deps.store.writeSecret(pskSecretName(name), opts.pskKey);
    }
    let previous: Mapping | undefined;
    const updated = await this.deps.inventory.transaction((draft) => {
      const current = draft.volumes.find((v) => v.name === name);
      if (!current) throw new FerryError('ERR_NOT_FOUND', `volume ${name} does not exist`, { volume: name });
      if (current.epoch !== opts.expectEpoch) {
        throw new FerryError(
          'ERR_STALE_EPOCH',
          `volume ${name} is at epoch ${current.epoch}, the request expected epoch ${opts.expectEpoch}`,
          { volume: name, epoch: current.epoch, expectEpoch: opts.expectEpoch },
        );
      }
      if (
        mapping.kind === 'local' &&
        !draft.lvs.some((l) => l.pool === mapping.pool && l.name === mapping.lv)
      ) {
        throw new FerryError('ERR_NOT_FOUND', `LV ${mapping.pool}/${mapping.lv} does not exist`);
      }
      previous = current.mapping;
      current.mapping = mapping;
      current.epoch += 1;
      return { ...current };
    });
    this.deps.events.publish({
      type: 'volume.mapping-changed',
      volume: name,
      epoch: updated.epoch,
      mapping,
      previous,
    });
    return updated;
  }

  /** Reads the PSK key stored for a vv's remote mapping. */
  readPskKey(name: string): Promise<Buffer | undefined> {
    return this.deps.store.readSecret(pskSecretName(name));
  }

  /** Drains and closes every VirtualVolume (agent shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.live.values()];
    this.live.clear();
    await Promise.allSettled(all.map((vv) => vv.close()));
  }

  /** Retries opening an unavailable vv (e.g. a device came back); resolves true if it is now served. */
  async retryOpen(name: string): Promise<boolean> {
    if (this.live.has(name)) return true;
    const record = this.deps.inventory.snapshot().volumes.find((v) => v.name === name);
    return record ? this.tryOpen(record) : false;
  }

  private async tryOpen(record: VolumeRecord): Promise<boolean> {
    try {
      const pskKey = record.mapping.kind === 'remote' ? await this.readPskKey(record.name) : undefined;
      const chain = await this.deps.chains.open(record.mapping, { pskKey });
      this.live.set(record.name, new VirtualVolume(record.name, record.size, chain));
      this.unavailable.delete(record.name);
      return true;
    } catch (err) {
      const message = (err as Error).message;
      this.unavailable.set(record.name, message);
      this.deps.log.error(`volume ${record.name} is unavailable: ${message}`);
      this.deps.events.publish({ type: 'volume.unavailable', volume: record.name, error: message });
      return false;
    }
  }

  private describe(record: VolumeRecord): VolumeInfo {
    const error = this.unavailable.get(record.name);
    return {
      name: record.name,
      uuid: record.uuid,
      size: record.size,
      epoch: record.epoch,
      mapping: record.mapping,
      state: this.live.has(record.name) ? 'online' : 'unavailable',
      ...(error !== undefined && !this.live.has(record.name) ? { error } : {}),
      connections: this.deps.connectionCount?.(record.name) ?? 0,
      createdAt: record.createdAt,
    };
  }
}

export function pskSecretName(volume: string): string {
  return `psk.${volume}`;
}
