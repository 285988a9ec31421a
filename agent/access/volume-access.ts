// The agent's access service: each volume's policy (stored in its inventory record, so it is durable
// with the mapping and travels with it), the decision for each NBD client with a log line for every
// refusal, rule changes that close only the connections the new rules refuse (after their in-flight
// requests), and the hosts' TLS-PSK keys (secrets of mode 0600, shown once when made).
//
// Lock order: the inventory transaction mutex only; NBD disconnects run after it is released.

import { createHash, randomBytes } from 'node:crypto';
import { FerryError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import type { NbdClientInfo } from '../nbd/export-provider.js';
import type { Inventory, VolumeRecord } from '../state/inventory.js';
import type { StateStore } from '../state/state-store.js';
import {
  type AccessDecision,
  type AccessPolicy,
  type AgentAccessDefaults,
  decide,
  defaultPolicy,
  describePolicy,
  type HostTlsMode,
  parseAllowOption,
  validatePolicy,
  validatePskIdentity,
} from './access-policy.js';

/** What a rule change may set; fields left out keep their value. */
export interface AccessChange {
  allow?: string[];
  denyAll?: boolean;
  readOnly?: boolean;
  hostTls?: HostTlsMode;
}

interface LiveConnection {
  id: number;
  address: string;
  port: number;
  exportName?: string;
  tlsIdentity?: string;
}

/** The NBD server as this service needs it (agent/nbd/server.ts NbdServer fits). */
export interface ConnectionControl {
  connections(): LiveConnection[];
  disconnectWhere(
    pred: (c: { exportName?: string; address: string; tlsIdentity?: string }) => boolean,
  ): Promise<void>;
}

export interface VolumeAccessDeps {
  inventory: Inventory;
  store: StateStore;
  defaults: AgentAccessDefaults;
  log: Logger;
  /** The agent's event bus: every change becomes a 'volume.access-changed' event (the console's audit). */
  events?: { publish(event: { type: string } & Record<string, unknown>): unknown };
}

export class VolumeAccess {
  private readonly keys = new Map<string, Buffer>();
  private server?: ConnectionControl;

  private constructor(private readonly deps: VolumeAccessDeps) {}

  /** Loads the PSK keys of every identity some volume lists. */
  static async load(deps: VolumeAccessDeps): Promise<VolumeAccess> {
    const access = new VolumeAccess(deps);
    for (const volume of deps.inventory.snapshot().volumes) {
      for (const identity of access.policyOf(volume.name).pskIdentities) {
        const key = await deps.store.readSecret(secretName(identity));
        if (key) access.keys.set(identity, key);
        else
          deps.log.warn(
            `volume ${volume.name}: PSK identity ${identity} has no key on disk; remove and add it again`,
          );
      }
    }
    return access;
  }

  /** The NBD server, once it exists: rule changes close connections through it. */
  attachServer(server: ConnectionControl): void {
    this.server = server;
  }

  /** The policy a new volume starts with: the agent's defaults (serve --hosts-allow, --host-tls). */
  initialPolicy(): AccessPolicy {
    return defaultPolicy(this.deps.defaults);
  }

  policyOf(volume: string): AccessPolicy {
    return this.policyFromRecord(this.record(volume));
  }

  /** For NBD_OPT_GO/EXPORT_NAME: the decision, and a log line naming client and volume when refused. */
  check(volume: string, client: NbdClientInfo): AccessDecision {
    const decision = decide(this.policyOf(volume), client);
    if (!decision.allowed) {
      this.deps.log.warn(
        `refused client ${client.address}:${client.port} (connection ${client.id}${client.tlsIdentity ? `, PSK identity ${client.tlsIdentity}` : ''}) for volume ${volume}: ${decision.reason}`,
      );
    }
    return decision;
  }

  /** For NBD_OPT_LIST: a refused client does not see the volume (no log line: listing is not opening). */
  visible(volume: string, client: NbdClientInfo): boolean {
    return decide(this.policyOf(volume), client).allowed;
  }

  /** TLS-PSK key of an identity that some volume lists. */
  pskKey(identity: string): Buffer | undefined {
    const listed = this.deps.inventory
      .snapshot()
      .volumes.some((v) => this.policyFromRecord(v).pskIdentities.includes(identity));
    return listed ? this.keys.get(identity) : undefined;
  }

  /** Agent-wide `--host-tls require`: nothing but STARTTLS before TLS is up. */
  tlsRequired(): boolean {
    return this.deps.defaults.hostTls === 'require';
  }

  /** Changes a volume's rules durably, then closes the connections they now refuse. */
  async update(
    volume: string,
    change: AccessChange,
  ): Promise<{ policy: AccessPolicy; disconnected: string[] }> {
    if (change.allow !== undefined && change.denyAll === true) {
      throw new FerryError('ERR_INVALID_ARGUMENT', 'give either --allow or --deny-all, not both');
    }
    const allow = change.allow === undefined ? undefined : parseAllowOption(change.allow.join(','));
    let before = this.initialPolicy();
    const after = await this.deps.inventory.transaction((draft) => {
      const record = findRecord(draft.volumes, volume);
      before = this.policyFromRecord(record);
      const next: AccessPolicy = {
        ...before,
        ...(allow !== undefined ? { allow, denyAll: false } : {}),
        ...(change.denyAll !== undefined ? { denyAll: change.denyAll } : {}),
        ...(change.readOnly !== undefined ? { readOnly: change.readOnly } : {}),
        ...(change.hostTls !== undefined ? { hostTls: change.hostTls } : {}),
      };
      record.access = { ...next };
      return next;
    });
    const summary = `${describePolicy(before)} -> ${describePolicy(after)}`;
    this.deps.log.info(`audit: volume ${volume} access changed: ${summary}`);
    // A client that may still connect keeps its connection; one the rules now refuse, or one that
    // negotiated writing on a volume that became read-only, is closed after its in-flight requests.
    const narrowedToReadOnly = after.readOnly && !before.readOnly;
    const disconnected = await this.disconnect(
      volume,
      (c) => narrowedToReadOnly || !decide(after, c).allowed,
      'the new access rules refuse it',
    );
    this.publish(volume, summary, disconnected);
    return { policy: after, disconnected };
  }

  /** Makes a fresh key for an identity (returned in hex, this once), or shares an identity's existing key. */
  async addPsk(volume: string, identity: string): Promise<{ identity: string; key?: string }> {
    validatePskIdentity(identity);
    const policy = this.policyOf(volume);
    if (policy.pskIdentities.includes(identity)) {
      throw new FerryError('ERR_ALREADY_EXISTS', `PSK identity ${identity} already opens volume ${volume}`);
    }
    let fresh: Buffer | undefined;
    if (!this.keys.has(identity)) {
      fresh = randomBytes(32);
      await this.deps.store.writeSecret(secretName(identity), fresh);
      this.keys.set(identity, fresh);
    }
    await this.deps.inventory.transaction((draft) => {
      const record = findRecord(draft.volumes, volume);
      const current = this.policyFromRecord(record);
      record.access = { ...current, pskIdentities: [...current.pskIdentities, identity] };
    });
    const change = `PSK identity ${identity} added${fresh ? ' with a fresh key' : ' (sharing its existing key)'}`;
    this.deps.log.info(`audit: volume ${volume}: ${change}`);
    this.publish(volume, change, []);
    return fresh ? { identity, key: fresh.toString('hex') } : { identity };
  }

  listPsks(volume?: string): Array<{ volume: string; identity: string }> {
    const volumes = this.deps.inventory
      .snapshot()
      .volumes.filter((v) => volume === undefined || v.name === volume);
    if (volume !== undefined && volumes.length === 0) this.record(volume);
    return volumes.flatMap((v) =>
      this.policyFromRecord(v).pskIdentities.map((identity) => ({ volume: v.name, identity })),
    );
  }

  /** Takes an identity off a volume (its connections to it are closed); the key goes when no volume lists it. */
  async removePsk(volume: string, identity: string): Promise<void> {
    const stillListed = await this.deps.inventory.transaction((draft) => {
      const record = findRecord(draft.volumes, volume);
      const current = this.policyFromRecord(record);
      if (!current.pskIdentities.includes(identity)) {
        throw new FerryError('ERR_NOT_FOUND', `volume ${volume} has no PSK identity ${identity}`);
      }
      record.access = { ...current, pskIdentities: current.pskIdentities.filter((i) => i !== identity) };
      return draft.volumes.some((v) => this.policyFromRecord(v).pskIdentities.includes(identity));
    });
    if (!stillListed) {
      await this.deps.store.removeSecret(secretName(identity));
      this.keys.delete(identity);
    }
    const change = `PSK identity ${identity} removed${stillListed ? '' : ' (key deleted)'}`;
    this.deps.log.info(`audit: volume ${volume}: ${change}`);
    const why = `PSK identity ${identity} was removed`;
    const disconnected = await this.disconnect(volume, (c) => c.tlsIdentity === identity, why);
    this.publish(volume, change, disconnected);
  }

  private publish(volume: string, change: string, disconnected: string[]): void {
    const policy = { ...this.policyOf(volume) };
    this.deps.events?.publish({ type: 'volume.access-changed', volume, change, policy, disconnected });
  }

  private async disconnect(
    volume: string,
    refuse: (c: { address: string; tlsIdentity?: string }) => boolean,
    why: string,
  ): Promise<string[]> {
    const server = this.server;
    if (!server) return [];
    const matches = (c: { exportName?: string; address: string; tlsIdentity?: string }) =>
      c.exportName === volume && refuse(c);
    const victims = server.connections().filter(matches);
    if (victims.length === 0) return [];
    const names = victims.map((c) => `${c.address}:${c.port} (connection ${c.id})`);
    this.deps.log.info(`volume ${volume}: closing ${names.join(', ')} after in-flight requests: ${why}`);
    await server.disconnectWhere(matches);
    return names;
  }

  private record(volume: string): VolumeRecord {
    return findRecord(this.deps.inventory.snapshot().volumes, volume);
  }

  /** A stored policy, checked; a volume made before access rules existed gets the agent's defaults. */
  private policyFromRecord(record: Readonly<VolumeRecord>): AccessPolicy {
    if (record.access === undefined) return this.initialPolicy();
    try {
      return validatePolicy(record.access);
    } catch (err) {
      // Fail closed: a damaged policy must not open the volume to everyone.
      this.deps.log.error(
        `volume ${record.name}: stored access rules are invalid (${(err as Error).message}); denying all`,
      );
      return { ...this.initialPolicy(), denyAll: true };
    }
  }
}

function findRecord<T extends Readonly<VolumeRecord>>(volumes: readonly T[], name: string): T {
  const record = volumes.find((v) => v.name === name);
  if (!record) throw new FerryError('ERR_NOT_FOUND', `volume ${name} does not exist`, { volume: name });
  return record;
}

/** Secret names are lower-case; identities may not be, so the file is named by a hash of it. */
function secretName(identity: string): string {
  return `hostpsk.${createHash('sha256').update(identity).digest('hex').slice(0, 40)}`;
}
