// How the console reaches its SSH appliances, per appliance: the options of every connect (secrets
// asked through the shell's callbacks, typed once and kept in memory for re-dials, never stored; host
// key acceptance only while an appliance is being added or re-keyed), the kept SSH connections, and
// the agent link opener that closes a link as soon as its SSH connection drops, so ApplianceLinks
// opens a fresh one over the re-dialled connection.
import { FerryError, toFerryError } from '../../../shared/errors.js';
import type { SshAgentOpener } from '../deploy/appliance-agent-opener.js';
import type { ApplianceConnectOptions } from '../ssh/appliance-connection.js';
import type { SecretSource } from '../ssh/auth.js';
import type { SshConnection, SshConnectOptions } from '../ssh/connection.js';
import type { HostKeyInfo } from '../ssh/host-key.js';
import type { Appliance } from '../store/repo-appliances.js';
import type { SshLinkOpener } from './appliance-links.js';

/** How shells ask the admin for secrets; each is optional (no TTY, no dialog: not asked). */
export interface SecretPrompts {
  passphrase?: (ask: { appliance: string; identityFile: string }) => Promise<string>;
  password?: (ask: { appliance: string; user: string; host: string }) => Promise<string>;
}

export type ConfirmHostKey = (key: HostKeyInfo, where: { host: string; port: number }) => Promise<boolean>;

export interface HostKeyAcceptance {
  /** Accept a key only if its fingerprint is exactly this. */
  acceptHostKey?: string;
  /** Ask a human on first contact. */
  confirmHostKey?: ConfirmHostKey;
  /** Replace a pinned key that changed (with `acceptHostKey` only). */
  replacePinned?: boolean;
}

export type SshTuning = Pick<SshConnectOptions, 'keepaliveIntervalMs' | 'reconnect'>;

/** A host key confirmation prompts a human inside the SSH handshake: give them time. */
const HUMAN_READY_TIMEOUT_MS = 10 * 60_000;

type SecretKind = 'passphrase' | 'password';

export class ApplianceSshAccess {
  private readonly trust = new Map<string, HostKeyAcceptance>();
  private readonly given = new Map<string, Partial<Record<SecretKind, SecretSource>>>();
  private readonly typed = new Map<string, Partial<Record<SecretKind, string>>>();
  private readonly kept = new Map<string, SshConnection>();

  constructor(
    private readonly opener: SshAgentOpener,
    private readonly dropLink: (name: string) => void,
    private prompts?: SecretPrompts,
    private readonly tuning?: SshTuning,
  ) {}

  setSecretPrompts(prompts: SecretPrompts | undefined): void {
    this.prompts = prompts;
  }

  /** Secrets for the next connects of one appliance (e.g. typed in an add dialog). */
  giveSecrets(name: string, secrets: Partial<Record<SecretKind, SecretSource>>): void {
    this.given.set(name, secrets);
  }

  /** The appliance's kept SSH connection, dialled now if needed (accepting a host key as told). */
  async connect(appliance: Appliance, acceptance?: HostKeyAcceptance): Promise<SshConnection> {
    if (acceptance) this.trust.set(appliance.name, acceptance);
    try {
      const ssh = await this.opener.connection(appliance).catch((err) => this.failed(appliance.name, err));
      this.kept.set(appliance.name, ssh);
      return ssh;
    } finally {
      if (acceptance) this.trust.delete(appliance.name);
    }
  }

  /** What connectAppliance needs for one appliance; the SSH opener asks on every connect. */
  connectOptionsFor(appliance: Appliance): ApplianceConnectOptions {
    const trust = this.trust.get(appliance.name);
    return {
      passphrase: this.secretSource(appliance, 'passphrase'),
      password: this.secretSource(appliance, 'password'),
      acceptHostKey: trust?.acceptHostKey,
      replacePinnedHostKey: trust?.replacePinned,
      confirmHostKey: trust?.confirmHostKey,
      readyTimeoutMs: trust?.confirmHostKey ? HUMAN_READY_TIMEOUT_MS : undefined,
      keepaliveIntervalMs: this.tuning?.keepaliveIntervalMs,
      reconnect: this.tuning?.reconnect,
    };
  }

  /** ApplianceLinks' opener for SSH appliances: the link dies with its SSH connection's session. */
  readonly openLink: SshLinkOpener = async (appliance) => {
    const link = await this.opener.open(appliance).catch((err) => this.failed(appliance.name, err));
    const ssh = await this.connect(appliance).catch((err) => {
      link.close();
      throw err;
    });
    const onState = (state: string) => {
      if (state !== 'ready') link.close();
    };
    ssh.on('state', onState);
    link.onClose(() => ssh.off('state', onState));
    if (ssh.state !== 'ready') link.close();
    return link;
  };

  /** Drops the appliance's link, closes its SSH connection and forgets its secrets. */
  async forget(name: string): Promise<void> {
    this.dropLink(name);
    this.given.delete(name);
    this.typed.delete(name);
    const ssh = this.kept.get(name);
    this.kept.delete(name);
    await ssh?.close();
  }

  /** Closes every SSH connection (idempotent). */
  async close(): Promise<void> {
    this.kept.clear();
    this.typed.clear();
    await this.opener.closeAll();
  }

  /** A refused secret is asked again next time rather than replayed. */
  private failed(name: string, err: unknown): never {
    if (toFerryError(err).code === 'ERR_AUTH') this.typed.delete(name);
    throw err;
  }

  private secretSource(appliance: Appliance, kind: SecretKind): SecretSource | undefined {
    const name = appliance.name;
    const given = this.given.get(name)?.[kind];
    if (given === undefined && this.prompts?.[kind] === undefined) return undefined;
    return async () => {
      const typed = this.typed.get(name)?.[kind];
      if (typed !== undefined) return typed;
      const value =
        typeof given === 'string' ? given : given ? await given() : await this.ask(appliance, kind);
      this.typed.set(name, { ...this.typed.get(name), [kind]: value });
      return value;
    };
  }

  private ask(appliance: Appliance, kind: SecretKind): Promise<string> {
    const prompts = this.prompts;
    if (kind === 'passphrase' && prompts?.passphrase && appliance.auth.kind === 'key') {
      return prompts.passphrase({ appliance: appliance.name, identityFile: appliance.auth.identityFile });
    }
    if (kind === 'password' && prompts?.password) {
      return prompts.password({ appliance: appliance.name, user: appliance.user, host: appliance.host });
    }
    return Promise.reject(new FerryError('ERR_AUTH', `no ${kind} was given for ${appliance.name}`));
  }
}
