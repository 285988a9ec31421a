// Raw LV exports for peer agents: the target side of a move. An exported LV is served by this agent's
// NBD server as POOL/NAME, only over TLS with the export's PSK identity (a client without TLS is told
// TLS is required; one with another identity is refused). Exports survive a restart: the list is a
// state document and each key a secret file of mode 0600, so a killed target agent comes back
// serving what the move needs.

import { z } from 'zod';
import { FerryError } from '../../shared/errors.js';
import type { LvExportInfo } from '../../shared/rpc/moves.js';
import type { BlockBackend } from '../backend/block-backend.js';
import type { Logger } from '../log.js';
import type {
  ExportListing,
  ExportProvider,
  ExportRefusal,
  NbdClientInfo,
  OpenedExport,
} from '../nbd/export-provider.js';
import type { PoolService } from '../pools/pool-service.js';
import type { StateStore } from '../state/state-store.js';
import type { LocalLvOpener } from '../volumes/chain-factory.js';

const EXPORTS_DOC = 'lv-exports';
const exportsDocSchema = z.object({
  exports: z.array(z.object({ pool: z.string(), name: z.string(), pskIdentity: z.string() })),
});

interface LiveExport {
  pool: string;
  name: string;
  pskIdentity: string;
  pskKey: Buffer;
  backend: BlockBackend;
}

export interface LvExportDeps {
  pools: PoolService;
  store: StateStore;
  openLocal: LocalLvOpener;
  log: Logger;
}

/** The NBD server as this service needs it (agent/nbd/server.ts NbdServer fits). */
export interface PeerConnections {
  connections(): Array<{
    id: number;
    address: string;
    port: number;
    exportName?: string;
    tlsIdentity?: string;
  }>;
  disconnectWhere(pred: (c: { exportName?: string }) => boolean): Promise<void>;
}

export function lvExportName(pool: string, name: string): string {
  return `${pool}/${name}`;
}

export class LvExportService implements ExportProvider {
  private readonly live = new Map<string, LiveExport>();
  private server?: PeerConnections;

  constructor(private readonly deps: LvExportDeps) {
    deps.pools.addDeleteGuard((pool, lv) => {
      if (!this.live.has(lvExportName(pool, lv))) return undefined;
      const peers = this.connectedPeers(pool, lv);
      const who = peers.length > 0 ? ` and connected: ${peers.join(', ')}` : ' (no peer connected now)';
      return `it is exported to peer agents${who}; run lv unexport first, or lv delete --force`;
    });
  }

  /** The NBD server, once it exists: refusals name the connected peers, --force disconnects them. */
  attachServer(server: PeerConnections): void {
    this.server = server;
  }

  isExported(pool: string, name: string): boolean {
    return this.live.has(lvExportName(pool, name));
  }

  /** The peers connected to an LV's export, in words ('127.0.0.1:41234 (connection 3, PSK identity p)'). */
  connectedPeers(pool: string, name: string): string[] {
    const exportName = lvExportName(pool, name);
    return (this.server?.connections() ?? [])
      .filter((c) => c.exportName === exportName)
      .map(
        (c) =>
          `${c.address}:${c.port} (connection ${c.id}${c.tlsIdentity ? `, PSK identity ${c.tlsIdentity}` : ''})`,
      );
  }

  /**
   * For `lv delete --force`: closes the peers' connections after their in-flight requests, then stops
   * the export (its backend is closed only once nobody uses it). Returns the peers disconnected.
   */
  async release(pool: string, name: string): Promise<string[]> {
    const exportName = lvExportName(pool, name);
    if (!this.live.has(exportName)) return [];
    const peers = this.connectedPeers(pool, name);
    await this.server?.disconnectWhere((c) => c.exportName === exportName);
    await this.unexport(pool, name);
    if (peers.length > 0) this.deps.log.warn(`LV ${exportName}: disconnected ${peers.join(', ')} (--force)`);
    return peers;
  }

  /** Serves again what was exported before a restart; an LV that cannot be opened is logged and kept. */
  async restore(): Promise<void> {
    const doc = await this.deps.store.read(EXPORTS_DOC, exportsDocSchema);
    for (const e of doc?.exports ?? []) {
      try {
        const key = await this.deps.store.readSecret(secretName(e.pool, e.name));
        if (!key) throw new Error('its PSK key is missing from the state dir');
        await this.openBackend(e.pool, e.name, e.pskIdentity, key);
      } catch (err) {
        this.deps.log.error(
          `LV export ${lvExportName(e.pool, e.name)} not restored: ${(err as Error).message}`,
        );
      }
    }
  }

  async export(pool: string, name: string, pskIdentity: string, pskKey: Buffer): Promise<LvExportInfo> {
    const exportName = lvExportName(pool, name);
    const clash = [...this.live.values()].find(
      (e) => e.pskIdentity === pskIdentity && lvExportName(e.pool, e.name) !== exportName,
    );
    if (clash) {
      throw new FerryError(
        'ERR_ALREADY_EXISTS',
        `PSK identity ${pskIdentity} is already used by the export of ${lvExportName(clash.pool, clash.name)}: use one identity per export`,
      );
    }
    await this.close(exportName);
    await this.deps.store.writeSecret(secretName(pool, name), pskKey);
    await this.openBackend(pool, name, pskIdentity, pskKey);
    await this.save();
    this.deps.log.info(`LV ${exportName} exported to peers with PSK identity ${pskIdentity}`);
    return { pool, name, export: exportName, pskIdentity };
  }

  async unexport(pool: string, name: string): Promise<void> {
    const exportName = lvExportName(pool, name);
    if (!this.live.has(exportName)) {
      throw new FerryError('ERR_NOT_FOUND', `LV ${exportName} is not exported`, { pool, lv: name });
    }
    await this.close(exportName);
    await this.save();
    await this.deps.store.removeSecret(secretName(pool, name));
  }

  exports(): LvExportInfo[] {
    return [...this.live.values()].map((e) => ({
      pool: e.pool,
      name: e.name,
      export: lvExportName(e.pool, e.name),
      pskIdentity: e.pskIdentity,
    }));
  }

  async closeAll(): Promise<void> {
    for (const name of [...this.live.keys()]) await this.close(name);
  }

  // --- ExportProvider (a source of the volume export provider) ---

  list(client: NbdClientInfo): ExportListing[] {
    return [...this.live.values()]
      .filter((e) => client.tlsIdentity === e.pskIdentity)
      .map((e) => ({ name: lvExportName(e.pool, e.name), description: 'ferry LV export' }));
  }

  open(name: string, client: NbdClientInfo): OpenedExport | ExportRefusal {
    const e = this.live.get(name);
    if (!e) return { kind: 'unknown', message: `no export named ${name}` };
    if (client.tlsIdentity === undefined) {
      return { kind: 'tls-required', message: `export ${name} is served over TLS-PSK only` };
    }
    if (client.tlsIdentity !== e.pskIdentity) {
      return { kind: 'policy', message: `PSK identity ${client.tlsIdentity} may not open export ${name}` };
    }
    // Connections share the export's backend; they never close it (unexport does).
    return { name, description: 'ferry LV export', backend: e.backend, readOnly: false, release: () => {} };
  }

  pskKey(identity: string): Buffer | undefined {
    for (const e of this.live.values()) if (e.pskIdentity === identity) return e.pskKey;
    return undefined;
  }

  private async openBackend(pool: string, name: string, pskIdentity: string, pskKey: Buffer): Promise<void> {
    const found = this.deps.pools.lookupLv(pool, name);
    if (!found)
      throw new FerryError('ERR_NOT_FOUND', `LV ${pool}/${name} does not exist`, { pool, lv: name });
    const backend = await this.deps.openLocal(found.lv.path, { isBlockDevice: found.isBlockDevice });
    this.live.set(lvExportName(pool, name), { pool, name, pskIdentity, pskKey, backend });
  }

  private async close(exportName: string): Promise<void> {
    const e = this.live.get(exportName);
    if (!e) return;
    this.live.delete(exportName);
    await e.backend.flush().catch(() => {});
    await e.backend.close().catch(() => {});
  }

  private save(): Promise<void> {
    const exports = [...this.live.values()].map(({ pool, name, pskIdentity }) => ({
      pool,
      name,
      pskIdentity,
    }));
    return this.deps.store.write(EXPORTS_DOC, { exports });
  }
}

function secretName(pool: string, name: string): string {
  return `lv-export.${pool}.${name}`;
}
