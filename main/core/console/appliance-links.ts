// One control link per appliance, opened on demand and kept: local appliances (the lab, the demo)
// through their UNIX socket, SSH appliances through an opener that connects, deploys the agent when
// needed and forwards to its socket. A link that closes is dropped and reopened by the next call.
// Every outcome is recorded as the appliance's status and announced to subscribers.
import { FerryError, toFerryError } from '../../../shared/errors.js';
import { agentInfo } from '../../../shared/rpc/info.js';
import { type AgentLink, connectLocalAgent } from '../agent-link/index.js';
import { localAgentPaths } from '../lab/local-agent.js';
import type { Appliance } from '../store/repo-appliances.js';
import type { Store } from '../store/store.js';

export type SshLinkOpener = (appliance: Appliance) => Promise<AgentLink>;

export interface LinkStatus {
  appliance: string;
  status: 'online' | 'offline' | 'error';
  message: string | null;
  lastSeen: string | null;
  latencyMs: number | null;
  agentVersion: string | null;
}

export class ApplianceLinks {
  private readonly links = new Map<string, Promise<AgentLink>>();
  private readonly latency = new Map<string, number>();
  private readonly listeners = new Set<(status: LinkStatus) => void>();

  constructor(
    private readonly store: Store,
    private readonly openSsh?: SshLinkOpener,
  ) {}

  onStatus(listener: (status: LinkStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  latencyOf(name: string): number | null {
    return this.latency.get(name) ?? null;
  }

  /** The link to an appliance's agent, opening it when needed. */
  get(name: string): Promise<AgentLink> {
    const cached = this.links.get(name);
    if (cached) return cached;
    const opening = this.open(name);
    this.links.set(name, opening);
    opening.then(
      (link) => {
        link.onClose(() => {
          if (this.links.get(name) === opening) this.links.delete(name);
        });
      },
      () => {
        if (this.links.get(name) === opening) this.links.delete(name);
      },
    );
    return opening;
  }

  private async open(name: string): Promise<AgentLink> {
    const appliance = this.store.appliances.require(name);
    let link: AgentLink;
    try {
      if (appliance.transport === 'local') {
        link = await connectLocalAgent(localAgentPaths(appliance.agentDir).control, {
          label: `appliance ${name}`,
          connectTimeoutMs: 5000,
        });
      } else if (this.openSsh) {
        link = await this.openSsh(appliance);
      } else {
        throw new FerryError(
          'ERR_UNSUPPORTED',
          `appliance ${name} is reached over SSH, which this shell has not set up`,
        );
      }
      const started = Date.now();
      const info = await link.call(agentInfo, {}, { timeoutMs: 10_000 });
      this.latency.set(name, Date.now() - started);
      this.record(name, 'online', null, info.version);
      return link;
    } catch (err) {
      const error = toFerryError(err);
      this.record(
        name,
        error.code === 'ERR_UNREACHABLE' || error.code === 'ERR_TIMEOUT' ? 'offline' : 'error',
        error.message,
        null,
      );
      throw error;
    }
  }

  /** Records the outcome of talking to an appliance in the store and tells the listeners. */
  record(
    name: string,
    status: LinkStatus['status'],
    message: string | null,
    agentVersion: string | null,
  ): void {
    const updated = this.store.appliances.setStatus(name, status, {
      detail: message,
      ...(agentVersion !== null ? { agentVersion } : {}),
    });
    const event: LinkStatus = {
      appliance: name,
      status,
      message,
      lastSeen: updated.lastSeen,
      latencyMs: this.latency.get(name) ?? null,
      agentVersion: updated.agentVersion,
    };
    for (const listener of this.listeners) listener(event);
  }

  /** Forgets a link (e.g. after the lab went down) so the next call reconnects. */
  drop(name: string): void {
    const link = this.links.get(name);
    this.links.delete(name);
    link?.then((l) => l.close()).catch(() => {});
  }

  closeAll(): void {
    for (const name of [...this.links.keys()]) this.drop(name);
  }
}
