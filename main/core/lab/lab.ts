// The local lab: N appliances on this machine (agents as local processes, each with one dir pool of
// a set capacity, sparse on disk), registered in the store like any appliance. `up` starts (and first
// creates) them, `down` stops them (they then show offline with their last inventory), `destroy`
// removes them. The demo runs on the same machinery in its own folder.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { FerryError } from '../../../shared/errors.js';
import { poolAdd, poolList } from '../../../shared/rpc/pools.js';
import { connectLocalAgent } from '../agent-link/index.js';
import type { Store } from '../store/store.js';
import { agentAnswers, localAgentPaths, startLocalAgent, stopLocalAgent } from './local-agent.js';

export const LAB_POOL = 'pool';
export const DEFAULT_LAB_POOL_SIZE = 10 * 1024 ** 3;

export interface LabApplianceSpec {
  name: string;
  nbdPort: number;
  poolSize: number;
}

interface LabManifest {
  version: 1;
  appliances: LabApplianceSpec[];
}

export interface LabApplianceStatus extends LabApplianceSpec {
  running: boolean;
  dir: string;
}

export function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class LocalLab {
  private readonly manifestPath: string;

  constructor(
    readonly dir: string,
    private readonly store: Store,
    private readonly namePrefix = 'lab',
  ) {
    this.manifestPath = join(dir, 'lab.json');
  }

  private readManifest(): LabManifest {
    if (!existsSync(this.manifestPath)) return { version: 1, appliances: [] };
    try {
      return JSON.parse(readFileSync(this.manifestPath, 'utf8')) as LabManifest;
    } catch (err) {
      throw new FerryError(
        'ERR_IO',
        `the lab manifest ${this.manifestPath} is unreadable: ${(err as Error).message}`,
      );
    }
  }

  private writeManifest(manifest: LabManifest): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  }

  applianceDir(name: string): string {
    return join(this.dir, name);
  }

  async status(): Promise<LabApplianceStatus[]> {
    const manifest = this.readManifest();
    return Promise.all(
      manifest.appliances.map(async (a) => ({
        ...a,
        dir: this.applianceDir(a.name),
        running: await agentAnswers(localAgentPaths(this.applianceDir(a.name)), 1000),
      })),
    );
  }

  /** Creates missing appliances up to `count`, starts all of them, registers them in the store. */
  async up(options: { appliances?: number; poolSize?: number } = {}): Promise<LabApplianceStatus[]> {
    const manifest = this.readManifest();
    const count = options.appliances ?? Math.max(manifest.appliances.length, 3);
    if (!Number.isInteger(count) || count < 1 || count > 8) {
      throw new FerryError('ERR_INVALID_ARGUMENT', `a lab has 1 to 8 appliances, not ${count}`);
    }
    const poolSize = options.poolSize ?? DEFAULT_LAB_POOL_SIZE;
    for (let i = manifest.appliances.length; i < count; i++) {
      manifest.appliances.push({
        name: `${this.namePrefix}-${i + 1}`,
        nbdPort: await freeTcpPort(),
        poolSize,
      });
    }
    this.writeManifest(manifest);
    for (const spec of manifest.appliances.slice(0, count)) await this.startAppliance(spec);
    return (await this.status()).filter((s) =>
      manifest.appliances.slice(0, count).some((a) => a.name === s.name),
    );
  }

  private async startAppliance(spec: LabApplianceSpec): Promise<void> {
    const paths = localAgentPaths(this.applianceDir(spec.name));
    await startLocalAgent(paths, { nbdHost: '127.0.0.1', nbdPort: spec.nbdPort });
    const link = await connectLocalAgent(paths.control, { label: `lab appliance ${spec.name}` });
    try {
      const { pools } = await link.call(poolList, {});
      if (!pools.some((p) => p.name === LAB_POOL)) {
        const poolDir = join(paths.dir, 'pool');
        mkdirSync(poolDir, { recursive: true });
        await link.call(poolAdd, { kind: 'dir', name: LAB_POOL, path: poolDir, capacity: spec.poolSize });
      }
    } finally {
      link.close();
    }
    const existing = this.store.appliances.get(spec.name);
    if (existing && existing.transport !== 'local') {
      throw new FerryError(
        'ERR_ALREADY_EXISTS',
        `an appliance named ${spec.name} already exists and is not part of the lab: remove it or rename it first`,
      );
    }
    if (!existing) {
      this.store.appliances.add({
        name: spec.name,
        transport: 'local',
        host: '127.0.0.1',
        agentDir: paths.dir,
        nbdListen: `127.0.0.1:${spec.nbdPort}`,
      });
    }
  }

  /** Stops every lab agent; the store keeps their last inventory. */
  async down(): Promise<void> {
    const manifest = this.readManifest();
    await Promise.all(
      manifest.appliances.map((a) => stopLocalAgent(localAgentPaths(this.applianceDir(a.name)))),
    );
  }

  /** Stops and deletes the lab: its agents, their data, and their appliances in the store. */
  async destroy(): Promise<void> {
    const manifest = this.readManifest();
    await this.down();
    for (const a of manifest.appliances) {
      if (this.store.appliances.get(a.name)?.transport === 'local') this.store.appliances.remove(a.name);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
