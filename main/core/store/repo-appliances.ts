// Appliances: how to reach each one (SSH settings, never a secret), its pinned host key, where its
// agent lives, and what the console last saw of it.
import { FerryError } from '../../../shared/errors.js';
import { validateName } from '../../../shared/names.js';
import { parseJsonColumn, type StoreContext, stmt } from './store-context.js';

/** How the console authenticates. Only the method and the key file path are stored, never a secret. */
export type ApplianceAuth = { kind: 'agent' } | { kind: 'key'; identityFile: string } | { kind: 'password' };
export type RuntimeChoice = 'auto' | 'system' | 'bundled';
export type ApplianceStatus = 'unknown' | 'online' | 'offline' | 'error';
/** 'ssh': a real appliance; 'local': an agent on this machine (demo lab), reached by a UNIX socket. */
export type ApplianceTransport = 'ssh' | 'local';

export interface PinnedHostKey {
  fingerprint: string;
  type: string | null;
  pinnedAt: string;
}

export interface Appliance {
  id: number;
  name: string;
  transport: ApplianceTransport;
  host: string;
  port: number;
  user: string;
  auth: ApplianceAuth;
  hostKey: PinnedHostKey | null;
  agentDir: string;
  nbdListen: string;
  runtime: RuntimeChoice;
  status: ApplianceStatus;
  statusDetail: string | null;
  agentVersion: string | null;
  lastSeen: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewAppliance {
  name: string;
  transport?: ApplianceTransport;
  host: string;
  port?: number;
  user?: string;
  auth?: ApplianceAuth;
  agentDir: string;
  nbdListen: string;
  runtime?: RuntimeChoice;
}

export type AppliancePatch = Partial<
  Pick<Appliance, 'host' | 'port' | 'user' | 'auth' | 'agentDir' | 'nbdListen' | 'runtime'>
>;

interface ApplianceRow {
  id: number;
  name: string;
  transport: ApplianceTransport;
  host: string;
  port: number;
  ssh_user: string;
  auth_json: string;
  host_key_fingerprint: string | null;
  host_key_type: string | null;
  host_key_pinned_at: string | null;
  agent_dir: string;
  nbd_listen: string;
  runtime: RuntimeChoice;
  status: ApplianceStatus;
  status_detail: string | null;
  agent_version: string | null;
  last_seen: string | null;
  created_at: string;
  updated_at: string;
}

const RUNTIMES: readonly RuntimeChoice[] = ['auto', 'system', 'bundled'];

function toAppliance(row: ApplianceRow): Appliance {
  return {
    id: row.id,
    name: row.name,
    transport: row.transport,
    host: row.host,
    port: row.port,
    user: row.ssh_user,
    auth: parseJsonColumn<ApplianceAuth>(row.auth_json, { kind: 'agent' }),
    hostKey: row.host_key_fingerprint
      ? {
          fingerprint: row.host_key_fingerprint,
          type: row.host_key_type,
          pinnedAt: row.host_key_pinned_at ?? '',
        }
      : null,
    agentDir: row.agent_dir,
    nbdListen: row.nbd_listen,
    runtime: row.runtime,
    status: row.status,
    statusDetail: row.status_detail,
    agentVersion: row.agent_version,
    lastSeen: row.last_seen,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function validateSettings(input: AppliancePatch): void {
  if (input.host !== undefined && (input.host.trim() === '' || /\s/.test(input.host))) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `invalid host ${JSON.stringify(input.host)}: give a name or address`,
    );
  }
  if (input.port !== undefined && !(Number.isInteger(input.port) && input.port >= 1 && input.port <= 65535)) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `invalid port ${input.port}: use 1-65535`);
  }
  if (input.user !== undefined && !/^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$/.test(input.user)) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `invalid SSH user ${JSON.stringify(input.user)}`);
  }
  if (input.agentDir !== undefined && !input.agentDir.startsWith('/')) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `agent dir must be an absolute path, got ${JSON.stringify(input.agentDir)}`,
    );
  }
  if (input.nbdListen !== undefined && !/^[^\s]+:\d{1,5}$/.test(input.nbdListen)) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `NBD listen address must be HOST:PORT, got ${JSON.stringify(input.nbdListen)}`,
    );
  }
  if (input.runtime !== undefined && !RUNTIMES.includes(input.runtime)) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `runtime must be auto, system or bundled, got ${JSON.stringify(input.runtime)}`,
    );
  }
  if (input.auth !== undefined && input.auth.kind === 'key' && !input.auth.identityFile) {
    throw new FerryError('ERR_INVALID_ARGUMENT', 'key authentication needs an identity file');
  }
}

export class AppliancesRepo {
  constructor(private readonly ctx: StoreContext) {}

  list(): Appliance[] {
    const rows = stmt(this.ctx.db, 'SELECT * FROM appliances ORDER BY name').all() as ApplianceRow[];
    return rows.map(toAppliance);
  }

  get(name: string): Appliance | undefined {
    const row = stmt(this.ctx.db, 'SELECT * FROM appliances WHERE name = ?').get(name) as
      | ApplianceRow
      | undefined;
    return row ? toAppliance(row) : undefined;
  }

  getById(id: number): Appliance | undefined {
    const row = stmt(this.ctx.db, 'SELECT * FROM appliances WHERE id = ?').get(id) as
      | ApplianceRow
      | undefined;
    return row ? toAppliance(row) : undefined;
  }

  /** Like get() but throws ERR_NOT_FOUND naming the appliances that do exist. */
  require(name: string): Appliance {
    const found = this.get(name);
    if (found) return found;
    const known = this.list().map((a) => a.name);
    throw new FerryError(
      'ERR_NOT_FOUND',
      `no appliance named ${JSON.stringify(name)}` +
        (known.length > 0 ? ` (known: ${known.join(', ')})` : ': add one with `ferry appliance add`'),
    );
  }

  add(input: NewAppliance): Appliance {
    validateName('appliance', input.name);
    validateSettings(input);
    const now = this.ctx.now();
    return this.ctx.db.transaction(() => {
      if (this.get(input.name)) {
        throw new FerryError(
          'ERR_ALREADY_EXISTS',
          `an appliance named ${JSON.stringify(input.name)} already exists`,
        );
      }
      const info = stmt(
        this.ctx.db,
        `INSERT INTO appliances (name, transport, host, port, ssh_user, auth_json, agent_dir, nbd_listen, runtime,
           created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        input.name,
        input.transport ?? 'ssh',
        input.host,
        input.port ?? 22,
        input.user ?? 'root',
        JSON.stringify(input.auth ?? { kind: 'agent' }),
        input.agentDir,
        input.nbdListen,
        input.runtime ?? 'auto',
        now,
        now,
      );
      const added = this.getById(Number(info.lastInsertRowid))!;
      this.ctx.audit('appliance.add', input.name, {
        host: added.host,
        port: added.port,
        user: added.user,
        transport: added.transport,
        auth: added.auth.kind,
        agentDir: added.agentDir,
        nbdListen: added.nbdListen,
        runtime: added.runtime,
      });
      return added;
    })();
  }

  update(name: string, patch: AppliancePatch): Appliance {
    validateSettings(patch);
    return this.ctx.db.transaction(() => {
      const current = this.require(name);
      const next = { ...current, ...patch };
      stmt(
        this.ctx.db,
        `UPDATE appliances SET host = ?, port = ?, ssh_user = ?, auth_json = ?, agent_dir = ?, nbd_listen = ?,
           runtime = ?, updated_at = ? WHERE id = ?`,
      ).run(
        next.host,
        next.port,
        next.user,
        JSON.stringify(next.auth),
        next.agentDir,
        next.nbdListen,
        next.runtime,
        this.ctx.now(),
        current.id,
      );
      this.ctx.audit('appliance.update', name, { ...patch, auth: patch.auth?.kind });
      return this.getById(current.id)!;
    })();
  }

  /** Removes the appliance and (by cascade) its pools, LVs and throughput samples. */
  remove(name: string): void {
    this.ctx.db.transaction(() => {
      const current = this.require(name);
      stmt(this.ctx.db, 'DELETE FROM appliances WHERE id = ?').run(current.id);
      this.ctx.audit('appliance.remove', name, { host: current.host });
    })();
  }

  /** Pins (or re-pins, after an admin accepted a changed key) the host key's SHA256 fingerprint. */
  pinHostKey(name: string, fingerprint: string, type: string | null = null): Appliance {
    if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(fingerprint)) {
      throw new FerryError(
        'ERR_INVALID_ARGUMENT',
        `not a SHA256 host key fingerprint: ${JSON.stringify(fingerprint)}`,
      );
    }
    return this.ctx.db.transaction(() => {
      const current = this.require(name);
      const now = this.ctx.now();
      stmt(
        this.ctx.db,
        `UPDATE appliances SET host_key_fingerprint = ?, host_key_type = ?, host_key_pinned_at = ?, updated_at = ?
           WHERE id = ?`,
      ).run(fingerprint, type, now, now, current.id);
      this.ctx.audit('appliance.host-key.pin', name, {
        fingerprint,
        type,
        previous: current.hostKey?.fingerprint ?? null,
      });
      return this.getById(current.id)!;
    })();
  }

  /**
   * Records what a connect/check saw. Not audited when only the time moves on; audited when the
   * status or the agent version changes, so the log shows outages and upgrades.
   */
  setStatus(
    name: string,
    status: ApplianceStatus,
    extra: { detail?: string | null; agentVersion?: string | null; seen?: boolean } = {},
  ): Appliance {
    return this.ctx.db.transaction(() => {
      const current = this.require(name);
      const now = this.ctx.now();
      const agentVersion = extra.agentVersion === undefined ? current.agentVersion : extra.agentVersion;
      const lastSeen = extra.seen || status === 'online' ? now : current.lastSeen;
      stmt(
        this.ctx.db,
        `UPDATE appliances SET status = ?, status_detail = ?, agent_version = ?, last_seen = ?, updated_at = ?
           WHERE id = ?`,
      ).run(status, extra.detail ?? null, agentVersion, lastSeen, now, current.id);
      if (status !== current.status || agentVersion !== current.agentVersion) {
        this.ctx.audit('appliance.status', name, {
          from: current.status,
          to: status,
          detail: extra.detail ?? null,
          agentVersion,
        });
      }
      return this.getById(current.id)!;
    })();
  }
}
