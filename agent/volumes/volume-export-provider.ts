// The NBD server's view of this agent's vvs: every vv is an export of the same name, served from its
// VirtualVolume (so a move's cutover is invisible to connected hosts). Counts the connections each
// vv has open (volume delete refuses while any is open). Other export sources (a move engine's raw
// LV exports for peer agents, with their PSK keys) plug in with addSource().

import type {
  ExportListing,
  ExportProvider,
  ExportRefusal,
  NbdClientInfo,
  OpenedExport,
} from '../nbd/export-provider.js';
import type { VolumeManager } from './volume-manager.js';

/** Who may reach a vv (agent/access/volume-access.ts implements it); absent: everyone, read-write. */
export interface VolumeAccessGate {
  check(
    volume: string,
    client: NbdClientInfo,
  ): { allowed: boolean; readOnly: boolean; reason?: string; needTls?: boolean };
  visible(volume: string, client: NbdClientInfo): boolean;
  pskKey(identity: string): Buffer | undefined;
  tlsRequired(): boolean;
}

export class VolumeExportProvider implements ExportProvider {
  private readonly openCounts = new Map<string, number>();
  private readonly sources: ExportProvider[] = [];
  private shuttingDown = false;

  constructor(
    private readonly volumes: VolumeManager,
    private readonly access?: VolumeAccessGate,
  ) {}

  addSource(source: ExportProvider): void {
    this.sources.push(source);
  }

  /** New opens are refused from now on (agent shutdown). */
  shutdown(): void {
    this.shuttingDown = true;
  }

  connectionCount(name: string): number {
    return this.openCounts.get(name) ?? 0;
  }

  list(client: NbdClientInfo): ExportListing[] {
    const own = this.volumes
      .list()
      .filter((v) => this.access?.visible(v.name, client) ?? true)
      .map((v) => ({ name: v.name, description: `ferry vv ${v.uuid}` }));
    return [...own, ...this.sources.flatMap((s) => s.list(client))];
  }

  open(name: string, client: NbdClientInfo): OpenedExport | ExportRefusal {
    if (this.shuttingDown) return { kind: 'shutdown', message: 'the agent is shutting down' };
    const decision = this.volumes.names().includes(name) ? this.access?.check(name, client) : undefined;
    if (decision && !decision.allowed) {
      const message = `volume ${name}: ${decision.reason ?? 'refused by its access rules'}`;
      return { kind: decision.needTls ? 'tls-required' : 'policy', message };
    }
    const vv = this.volumes.find(name);
    if (!vv) {
      for (const source of this.sources) {
        const opened = source.open(name, client);
        if (!('kind' in opened) || opened.kind !== 'unknown') return opened;
      }
      if (this.volumes.names().includes(name)) {
        // Known but its LV could not be opened: try again in the background for the next client.
        void this.volumes.retryOpen(name);
        return { kind: 'unknown', message: `volume ${name} is unavailable (its LV could not be opened)` };
      }
      const hint =
        name === '' ? 'this agent has no default export; name a volume' : `no volume named ${name}`;
      return { kind: 'unknown', message: hint };
    }
    this.openCounts.set(name, this.connectionCount(name) + 1);
    let released = false;
    const record = this.volumes.record(name);
    return {
      name,
      description: `ferry vv ${record.uuid}`,
      backend: vv,
      readOnly: decision?.readOnly ?? false,
      release: () => {
        if (released) return;
        released = true;
        const left = this.connectionCount(name) - 1;
        if (left > 0) this.openCounts.set(name, left);
        else this.openCounts.delete(name);
      },
    };
  }

  pskKey(identity: string): Buffer | undefined {
    const own = this.access?.pskKey(identity);
    if (own) return own;
    for (const source of this.sources) {
      const key = source.pskKey?.(identity);
      if (key) return key;
    }
    return undefined;
  }

  tlsRequired(): boolean {
    return this.access?.tlsRequired() ?? false;
  }
}
