// The appliances of the shop, as the admin manages them: read a host key before trusting it, add an
// appliance (record, connect with the host key accepted, deploy the agent, read its inventory: all or
// nothing), check one, list, remove. Reaching them over SSH (secrets, host key acceptance, kept
// connections, agent links) is ApplianceSshAccess's job.
import type { BridgeEvent } from '../../../shared/bridge/events.js';
import type { Appliance as ApplianceView, HostKey } from '../../../shared/bridge/model.js';
import { FerryError, toFerryError } from '../../../shared/errors.js';
import { validateName } from '../../../shared/names.js';
import type { SshAgentOpener } from '../deploy/appliance-agent-opener.js';
import type { DeployStep } from '../deploy/deploy.js';
import { type ApplianceDeployOptions, deployToAppliance } from '../deploy/deploy-appliance.js';
import type { ApplianceConnectOptions } from '../ssh/appliance-connection.js';
import type { SecretSource } from '../ssh/auth.js';
import { SshConnection } from '../ssh/connection.js';
import type { HostKeyInfo } from '../ssh/host-key.js';
import type { Appliance, ApplianceAuth, RuntimeChoice } from '../store/repo-appliances.js';
import type { Store } from '../store/store.js';
import { type ApplianceCheck, checkAppliance } from './appliance-check.js';
import type { ApplianceLinks, SshLinkOpener } from './appliance-links.js';
import {
  ApplianceSshAccess,
  type ConfirmHostKey,
  type SecretPrompts,
  type SshTuning,
} from './appliance-ssh-access.js';
import { applianceView, inventoryView } from './views.js';

export type { ApplianceCheck } from './appliance-check.js';
export type { ConfirmHostKey, SecretPrompts } from './appliance-ssh-access.js';

/** The stored method plus, for this call only, the secret (a string, or a callback asked when needed). */
export type ApplianceAuthInput =
  | { kind: 'agent' }
  | { kind: 'key'; identityFile: string; passphrase?: SecretSource }
  | { kind: 'password'; password?: SecretSource };

export interface AddApplianceInput {
  name: string;
  host: string;
  port?: number;
  user?: string;
  auth: ApplianceAuthInput;
  /** `SHA256:...`: accept a first-contact host key only if it is exactly this one. */
  acceptHostKey?: string;
  /** Asked on first contact when `acceptHostKey` is not given (a TTY yes/no, a dialog). */
  confirmHostKey?: ConfirmHostKey;
  /** Default /var/lib/ferry-agent for root, else ~/.ferry-agent of the SSH user. */
  agentDir?: string;
  /** Default 0.0.0.0:10809. */
  nbdListen?: string;
  runtime?: RuntimeChoice;
  onStep?: (step: 'connect' | DeployStep | 'inventory', detail?: string) => void;
}

export interface AddedAppliance extends ApplianceView {
  hostKeyType: string | null;
  agentDir: string;
  nbdListen: string;
  deployed: {
    version: string;
    pid: number;
    sha256: string;
    runtime: { kind: string; path: string; version: string | null; uploaded: boolean };
    started: boolean;
    bundleUploaded: boolean;
    nbd: { host: string; port: number };
  };
}

export interface ApplianceListing extends ApplianceView {
  transport: 'ssh' | 'local';
  auth: ApplianceAuth['kind'];
  agentDir: string;
  nbdListen: string;
  runtime: RuntimeChoice;
}

export interface RemovedAppliance {
  ok: true;
  appliance: string;
  /** Volumes it served: forgotten by the console (their agent keeps serving them). */
  forgottenVolumes: string[];
  /** Volumes served elsewhere whose data is on this appliance (their front agent still reaches it). */
  volumesStoredOnIt: string[];
}

export interface ApplianceServiceDeps {
  store: Store;
  ssh: SshAgentOpener;
  links: () => ApplianceLinks;
  refresh: (appliance: string) => Promise<unknown>;
  emit: (event: BridgeEvent) => void;
  secrets?: SecretPrompts;
  deployOptions?: ApplianceDeployOptions;
  /** Per-connection SSH tuning (tests shorten keepalives and backoff). */
  ssh2?: SshTuning;
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const ROOT_AGENT_DIR = '/var/lib/ferry-agent';

export class ApplianceService {
  private readonly access: ApplianceSshAccess;
  /** ApplianceLinks' opener for SSH appliances (see ApplianceSshAccess.openLink). */
  readonly openLink: SshLinkOpener;

  constructor(private readonly deps: ApplianceServiceDeps) {
    this.access = new ApplianceSshAccess(
      deps.ssh,
      (name) => deps.links().drop(name),
      deps.secrets,
      deps.ssh2,
    );
    this.openLink = this.access.openLink;
  }

  /** Replaces the prompts (a shell that can ask only after it started, e.g. once a TTY is known). */
  setSecretPrompts(prompts: SecretPrompts | undefined): void {
    this.access.setSecretPrompts(prompts);
  }

  list(): ApplianceListing[] {
    const links = this.deps.links();
    return this.deps.store.appliances.list().map((a) => ({
      ...applianceView(a, links.latencyOf(a.name)),
      transport: a.transport,
      auth: a.auth.kind,
      agentDir: a.agentDir,
      nbdListen: a.nbdListen,
      runtime: a.runtime,
    }));
  }

  /** Connects once, reads the host key and hangs up before logging in. */
  async scanHostKey(host: string, port = 22): Promise<HostKey> {
    if (host.trim() === '' || /\s/.test(host) || !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
      throw new FerryError(
        'ERR_INVALID_ARGUMENT',
        `cannot scan ${JSON.stringify(host)}:${port}: give a host and a port 1-65535`,
      );
    }
    let seen: HostKeyInfo | undefined;
    try {
      const ssh = await SshConnection.connect({
        host,
        port,
        user: 'ferry-scan',
        auth: { kind: 'password', password: '' },
        hostKey: {
          confirm: async (key) => {
            seen = key;
            return false;
          },
        },
        reconnect: false,
      });
      await ssh.close();
    } catch (err) {
      if (!seen) throw err;
    }
    if (!seen) throw new FerryError('ERR_PROTOCOL', `${host}:${port} presented no host key`);
    const key = seen;
    const knownAs =
      this.deps.store.appliances.list().find((a) => a.hostKey?.fingerprint === key.fingerprint)?.name ?? null;
    return { host, port, keyType: key.type, fingerprint: key.fingerprint, knownAs };
  }

  /**
   * Records the appliance, connects (host key refused with ERR_HOST_KEY until accepted), deploys the
   * agent and reads its inventory. Any failure removes the appliance again: nothing half-added stays.
   */
  async add(input: AddApplianceInput): Promise<AddedAppliance> {
    const { store } = this.deps;
    validateName('appliance', input.name);
    if (input.acceptHostKey !== undefined && !FINGERPRINT.test(input.acceptHostKey)) {
      throw new FerryError(
        'ERR_INVALID_ARGUMENT',
        `--accept-host-key takes the fingerprint exactly as printed, SHA256: and 43 characters; got ${JSON.stringify(input.acceptHostKey)}`,
      );
    }
    if (store.appliances.get(input.name)) {
      throw new FerryError('ERR_ALREADY_EXISTS', `an appliance named ${input.name} already exists`);
    }
    const port = input.port ?? 22;
    const user = input.user ?? 'root';
    // Known now unless a non-root user takes the default (then it is their home's, read once logged in).
    const agentDir = input.agentDir ?? (user === 'root' ? ROOT_AGENT_DIR : undefined);
    const twin = store.appliances
      .list()
      .find((a) => a.host === input.host && a.port === port && a.agentDir === agentDir);
    if (twin) {
      throw new FerryError(
        'ERR_ALREADY_EXISTS',
        `${input.host}:${port} with agent dir ${agentDir} is already appliance ${twin.name}: give another --agent-dir`,
      );
    }
    const step = input.onStep ?? (() => {});
    store.appliances.add({
      name: input.name,
      transport: 'ssh',
      host: input.host,
      port,
      user,
      auth: storedAuth(input.auth),
      agentDir: agentDir ?? ROOT_AGENT_DIR,
      nbdListen: input.nbdListen ?? '0.0.0.0:10809',
      runtime: input.runtime ?? 'auto',
    });
    this.access.giveSecrets(input.name, {
      passphrase: input.auth.kind === 'key' ? input.auth.passphrase : undefined,
      password: input.auth.kind === 'password' ? input.auth.password : undefined,
    });
    try {
      step('connect', `${user}@${input.host}:${port}`);
      const ssh = await this.access
        .connect(store.appliances.require(input.name), {
          acceptHostKey: input.acceptHostKey,
          confirmHostKey: input.confirmHostKey,
        })
        .catch((err) => {
          throw explainHostKeyRefusal(err);
        });
      if (agentDir === undefined) {
        store.appliances.update(input.name, { agentDir: await homeAgentDir(ssh) });
      }
      const deployed = await deployToAppliance(store, ssh, input.name, {
        ...this.deps.deployOptions,
        onStep: (s, detail) => step(s, detail),
      });
      step('inventory');
      await this.deps.links().get(input.name);
      await this.deps.refresh(input.name);
      const added = store.appliances.require(input.name);
      return {
        ...applianceView(added, this.deps.links().latencyOf(added.name)),
        hostKeyType: added.hostKey?.type ?? null,
        agentDir: added.agentDir,
        nbdListen: added.nbdListen,
        deployed: {
          version: deployed.version,
          pid: deployed.pid,
          sha256: deployed.sha256,
          runtime: {
            kind: deployed.runtime.kind,
            path: deployed.runtime.path,
            version: deployed.runtime.version ?? null,
            uploaded: deployed.runtime.uploaded,
          },
          started: deployed.started,
          bundleUploaded: deployed.bundleUploaded,
          nbd: deployed.nbd,
        },
      };
    } catch (err) {
      await this.access.forget(input.name);
      if (store.appliances.get(input.name)) store.appliances.remove(input.name);
      throw err;
    }
  }

  /** Refused while one of its volumes is moving; its agent keeps running and serving hosts. */
  async remove(name: string): Promise<RemovedAppliance> {
    const { store } = this.deps;
    const appliance = store.appliances.require(name);
    const volumes = store.volumes.list();
    const frontOf = new Map(volumes.map((v) => [v.uuid, v.frontApplianceId]));
    const moving = store.moves
      .list({ active: true })
      .filter(
        (m) => m.from.appliance === name || m.to.appliance === name || frontOf.get(m.vvUuid) === appliance.id,
      );
    if (moving.length > 0) {
      const what = moving
        .map(
          (m) => `${volumes.find((v) => v.uuid === m.vvUuid)?.name ?? m.vvUuid} (move ${m.id}, ${m.phase})`,
        )
        .join(', ');
      throw new FerryError(
        'ERR_VOLUME_BUSY',
        `cannot remove appliance ${name}: ${what} is moving; wait for the move to finish or abort it (ferry move abort ID), then remove it`,
        { moves: moving.map((m) => m.id) },
      );
    }
    const fronted = volumes.filter((v) => v.frontApplianceId === appliance.id);
    const storedOnIt = volumes.filter(
      (v) => v.mapping.appliance === name && v.frontApplianceId !== appliance.id,
    );
    await this.access.forget(name);
    store.transaction(() => {
      for (const v of fronted) store.volumes.remove(v.uuid);
      store.appliances.remove(name);
    });
    const inventory = inventoryView(store, (n) => this.deps.links().latencyOf(n));
    this.deps.emit({
      type: 'inventory.changed',
      payload: {
        full: true,
        appliances: inventory.appliances,
        pools: inventory.pools,
        volumes: inventory.volumes,
        removed: { appliances: [name], pools: [], volumes: fronted.map((v) => v.name) },
        asOf: inventory.asOf,
      },
    });
    return {
      ok: true,
      appliance: name,
      forgottenVolumes: fronted.map((v) => v.name),
      volumesStoredOnIt: storedOnIt.map((v) => v.name),
    };
  }

  /**
   * Is it reachable, does its agent answer, which version, how fast. Never deploys. `acceptNewHostKey`
   * replaces a pinned key that changed (the admin verified the new one on the appliance).
   */
  async check(name: string, options: { acceptNewHostKey?: string } = {}): Promise<ApplianceCheck> {
    const appliance = this.deps.store.appliances.require(name);
    const newKey = options.acceptNewHostKey;
    if (newKey !== undefined && !FINGERPRINT.test(newKey)) {
      throw new FerryError(
        'ERR_INVALID_ARGUMENT',
        'the new host key must be given as SHA256:... (43 characters)',
      );
    }
    const result = await checkAppliance(appliance, async () => {
      if (newKey === undefined) return this.access.connect(appliance);
      await this.access.forget(name);
      return this.access.connect(appliance, { acceptHostKey: newKey, replacePinned: true });
    });
    const code = result.error?.code;
    this.deps
      .links()
      .record(
        name,
        !code ? 'online' : code === 'ERR_UNREACHABLE' || code === 'ERR_TIMEOUT' ? 'offline' : 'error',
        result.error ? result.message : null,
        result.agentVersion,
      );
    return result;
  }

  /** What connectAppliance needs for one appliance; the console's SSH opener calls it on every connect. */
  connectOptionsFor(appliance: Appliance): ApplianceConnectOptions {
    return this.access.connectOptionsFor(appliance);
  }

  /** Closes every SSH connection (idempotent). */
  close(): Promise<void> {
    return this.access.close();
  }
}

function storedAuth(auth: ApplianceAuthInput): ApplianceAuth {
  if (auth.kind === 'key') return { kind: 'key', identityFile: auth.identityFile };
  return { kind: auth.kind };
}

/** The SSH user's ~/.ferry-agent, for a non-root user who gave no agent dir. */
async function homeAgentDir(ssh: SshConnection): Promise<string> {
  const home = (await ssh.run('printf %s "$HOME"', { timeoutMs: 15_000 })).trim();
  if (!home.startsWith('/') || /[\s'"\\]/.test(home)) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `the SSH user's home ${JSON.stringify(home)} is not usable for the agent: give --agent-dir`,
    );
  }
  return `${home.replace(/\/+$/, '')}/.ferry-agent`;
}

/** A first-contact refusal carries the fingerprint under `details.fingerprint`, as the bridge documents. */
function explainHostKeyRefusal(err: unknown): FerryError {
  const error = toFerryError(err);
  if (error.code !== 'ERR_HOST_KEY' || typeof error.details?.presented !== 'string') return error;
  return new FerryError('ERR_HOST_KEY', error.message, {
    ...error.details,
    fingerprint: error.details.presented,
    keyType: error.details.type,
  });
}
