// The console core's composition root: one store, one link per appliance, the local lab, and the
// services behind every bridge method. The CLI, the browser shell and the Electron app all drive this
// one object; it imports nothing of any shell.
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import type { BridgeEvent, BridgeEventListener } from '../../../shared/bridge/events.js';
import type { Inventory, LabStatus, Pool, Volume, VolumeHistory } from '../../../shared/bridge/model.js';
import { FerryError } from '../../../shared/errors.js';
import { poolAdd } from '../../../shared/rpc/pools.js';
import { volumeCreate } from '../../../shared/rpc/volumes.js';
import { createSshAgentOpener } from '../deploy/appliance-agent-opener.js';
import type { ApplianceDeployOptions } from '../deploy/deploy-appliance.js';
import { LocalLab } from '../lab/lab.js';
import type { Store } from '../store/store.js';
import { ferryDataDir } from '../store/store-path.js';
import { type ConsoleTerminals, createConsoleTerminals } from '../terminal/console-terminals.js';
import { ApplianceLinks, type SshLinkOpener } from './appliance-links.js';
import { ApplianceService, type ApplianceServiceDeps, type SecretPrompts } from './appliance-service.js';
import { type SyncResult, syncAppliance } from './inventory-sync.js';
import { MoveOrchestrator } from './move-orchestrator.js';
import { inventoryView, poolViews, volumeViews } from './views.js';

declare const FERRY_CONSOLE_VERSION: string | undefined;
export const CONSOLE_VERSION = typeof FERRY_CONSOLE_VERSION === 'string' ? FERRY_CONSOLE_VERSION : 'dev';

export interface ConsoleCoreOptions {
  store: Store;
  /** Where the lab lives; default: beside the store (the user's data folder for the default store). */
  labDir?: string;
  /** Replaces the SSH appliances' link opener (default: connect, deploy if needed, forward). */
  openSsh?: SshLinkOpener;
  /** How to ask for a key passphrase or an SSH password; without them such appliances get ERR_AUTH. */
  secrets?: SecretPrompts;
  /** Deploy settings for SSH appliances (e.g. another agent bundle). */
  deployOptions?: ApplianceDeployOptions;
  /** SSH keepalive and reconnect tuning. */
  ssh?: ApplianceServiceDeps['ssh2'];
  /** Names of lab appliances: PREFIX-1, PREFIX-2, ... (default 'lab'). */
  labPrefix?: string;
}

/** An audit entry's details in words: "from lab-1/pool/vol to lab-2/pool/vol, epoch 2". */
export function describeAuditDetails(details: Record<string, unknown>): string {
  const show = (value: unknown): string => {
    if (value === null || value === undefined) return '-';
    if (typeof value === 'object' && !Array.isArray(value)) {
      const v = value as Record<string, unknown>;
      if ('appliance' in v && 'pool' in v)
        return [v.appliance, v.pool, v.lv].filter((x) => x !== undefined).join('/');
      return Object.entries(v)
        .map(([k, x]) => `${k} ${show(x)}`)
        .join(', ');
    }
    if (Array.isArray(value)) return value.map(show).join(', ');
    return String(value);
  };
  return Object.entries(details)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${show(v)}`)
    .join(', ');
}

export class ConsoleCore {
  readonly store: Store;
  readonly links: ApplianceLinks;
  readonly appliances: ApplianceService;
  readonly lab: LocalLab;
  readonly moves: MoveOrchestrator;
  /** Local and appliance shells for the terminal panes (terminal.* bridge methods). */
  readonly terminals: ConsoleTerminals;
  private readonly events = new EventEmitter();

  constructor(options: ConsoleCoreOptions) {
    this.store = options.store;
    this.appliances = new ApplianceService({
      store: this.store,
      ssh: createSshAgentOpener(this.store, {
        connect: (appliance) => this.appliances.connectOptionsFor(appliance),
        deployOptions: options.deployOptions,
      }),
      links: () => this.links,
      refresh: (name) => this.refresh(name),
      emit: (event) => this.emit(event),
      secrets: options.secrets,
      deployOptions: options.deployOptions,
      ssh2: options.ssh,
    });
    this.links = new ApplianceLinks(this.store, options.openSsh ?? this.appliances.openLink);
    const base = this.store.path === ':memory:' ? ferryDataDir() : dirname(this.store.path);
    this.lab = new LocalLab(options.labDir ?? join(base, 'lab'), this.store, options.labPrefix);
    this.events.setMaxListeners(0);
    this.moves = new MoveOrchestrator(this.store, this.links, async (appliances) => {
      // A move started or ended: show its state at once, then what the agents report.
      this.announceInventory();
      for (const name of appliances) await this.refresh(name).catch(() => {});
    });
    this.terminals = createConsoleTerminals(this, (event) => this.emit(event));
    this.moves.onProgress((move) => this.emit({ type: 'move.progress', payload: move }));
    this.links.onStatus((s) =>
      this.emit({
        type: 'appliance.status',
        payload: {
          appliance: s.appliance,
          status: s.status,
          message: s.message,
          lastSeen: s.lastSeen,
          latencyMs: s.latencyMs,
        },
      }),
    );
  }

  subscribe(listener: BridgeEventListener): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  emit(event: BridgeEvent): void {
    this.events.emit('event', event);
  }

  info() {
    return { version: CONSOLE_VERSION, storePath: this.store.path };
  }

  inventory(): Inventory {
    return inventoryView(this.store, (n) => this.links.latencyOf(n));
  }

  /** Asks the agents again (all, or one) and records what they report; offline ones keep their last view. */
  async refresh(appliance?: string): Promise<{ inventory: Inventory; results: SyncResult[] }> {
    const names = appliance
      ? [this.store.appliances.require(appliance).name]
      : this.store.appliances.list().map((a) => a.name);
    const results = await Promise.all(names.map((n) => syncAppliance(this.store, this.links, n)));
    return { inventory: this.announceInventory(), results };
  }

  /** Tells every subscriber the inventory as the store has it now (no agent is asked). */
  announceInventory(): Inventory {
    const inventory = this.inventory();
    this.emit({
      type: 'inventory.changed',
      payload: {
        full: true,
        appliances: inventory.appliances,
        pools: inventory.pools,
        volumes: inventory.volumes,
        removed: { appliances: [], pools: [], volumes: [] },
        asOf: inventory.asOf,
      },
    });
    return inventory;
  }

  async addPool(params: {
    appliance: string;
    name: string;
    dir?: string;
    devices?: string[];
    capacity?: number;
  }): Promise<Pool> {
    if ((params.dir === undefined) === (params.devices === undefined)) {
      throw new FerryError(
        'ERR_INVALID_ARGUMENT',
        'a pool is either --dir PATH or --device PATH[,PATH...]: give exactly one',
      );
    }
    const link = await this.links.get(params.appliance);
    await link.call(
      poolAdd,
      params.dir !== undefined
        ? {
            kind: 'dir',
            name: params.name,
            path: params.dir,
            ...(params.capacity ? { capacity: params.capacity } : {}),
          }
        : { kind: 'device', name: params.name, devices: params.devices ?? [] },
    );
    this.store.audit.record('pool.add', `${params.appliance}/${params.name}`, {
      dir: params.dir,
      devices: params.devices,
    });
    await this.refresh(params.appliance);
    const pool = poolViews(this.store).find(
      (p) => p.appliance === params.appliance && p.name === params.name,
    );
    if (!pool)
      throw new FerryError(
        'ERR_INTERNAL',
        `pool ${params.appliance}/${params.name} was added but not reported back`,
      );
    return pool;
  }

  async createVolume(params: {
    name: string;
    size: number;
    on: { appliance: string; pool: string };
  }): Promise<Volume> {
    if (this.store.volumes.get(params.name)) {
      throw new FerryError(
        'ERR_ALREADY_EXISTS',
        `a volume named ${params.name} already exists: choose another name`,
      );
    }
    const link = await this.links.get(params.on.appliance);
    await link.call(volumeCreate, { name: params.name, size: params.size, pool: params.on.pool });
    this.store.audit.record('volume.create', params.name, { size: params.size, on: params.on });
    await this.refresh(params.on.appliance);
    const volume = volumeViews(this.store).find((v) => v.name === params.name);
    if (!volume)
      throw new FerryError('ERR_INTERNAL', `volume ${params.name} was created but not reported back`);
    return volume;
  }

  volumeHistory(name: string): VolumeHistory {
    const volume = this.store.volumes.get(name);
    if (!volume)
      throw new FerryError(
        'ERR_NOT_FOUND',
        `no volume named ${name} in the store: run ferry inventory --refresh`,
      );
    const epochs = this.store.volumes.history(volume.uuid).map((h) => ({
      epoch: h.epoch,
      appliance: h.mapping.appliance,
      pool: h.mapping.pool,
      lv: h.mapping.lv,
      at: h.at,
      reason: h.source === 'console' ? 'changed by the console' : 'reported by the agent',
    }));
    const audit = this.store.audit
      .list({})
      .filter(
        (e) => e.subject === volume.name || e.subject === volume.uuid || e.details?.volume === volume.name,
      )
      .map((e) => ({ at: e.at, actor: e.actor, action: e.action, detail: describeAuditDetails(e.details) }));
    return { volume: volume.name, epochs, audit };
  }

  async labStatus(): Promise<LabStatus> {
    const status = await this.lab.status();
    if (status.length === 0) return { state: 'absent', appliances: [], dir: null };
    return {
      state: status.every((s) => s.running) ? 'up' : 'down',
      appliances: status.map((s) => s.name),
      dir: this.lab.dir,
    };
  }

  async labUp(params: { appliances?: number; poolSize?: number }): Promise<LabStatus> {
    const started = await this.lab.up(params);
    for (const a of started) this.links.drop(a.name);
    await this.refresh();
    return this.labStatus();
  }

  async labDown(): Promise<LabStatus> {
    const status = await this.lab.status();
    await this.lab.down();
    for (const a of status) {
      this.links.drop(a.name);
      if (this.store.appliances.get(a.name)) this.links.record(a.name, 'offline', 'the lab is down', null);
    }
    return this.labStatus();
  }

  /** Stops and deletes the lab; its appliances and the volumes they served leave the catalog too. */
  async labDestroy(): Promise<void> {
    const labAppliances = await this.lab.status();
    for (const a of labAppliances) this.links.drop(a.name);
    const ids = new Set(
      labAppliances.map((a) => this.store.appliances.get(a.name)?.id).filter((id) => id !== undefined),
    );
    for (const volume of this.store.volumes.list()) {
      if (volume.frontApplianceId !== null && ids.has(volume.frontApplianceId))
        this.store.volumes.remove(volume.uuid);
    }
    await this.lab.destroy();
  }

  /** Closes the links at once; the returned promise settles when the SSH connections are closed too. */
  close(): Promise<void> {
    this.links.closeAll();
    this.events.removeAllListeners();
    return Promise.all([this.terminals.close(), this.appliances.close()]).then(() => {});
  }
}
