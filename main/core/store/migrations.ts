// The store's schema, as an ordered list of migrations from v1. A released migration is never edited:
// a change is a new entry at the end. Each one runs in its own transaction and is recorded in
// `schema_version` (history) and PRAGMA user_version (fast check), so a crash mid-way leaves the
// file at the previous version.
import type Database from 'better-sqlite3';
import { FerryError } from '../../../shared/errors.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'appliances, inventory, mapping history, audit',
    sql: `
      CREATE TABLE appliances (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        transport TEXT NOT NULL DEFAULT 'ssh' CHECK (transport IN ('ssh', 'local')),
        host TEXT NOT NULL,
        port INTEGER NOT NULL DEFAULT 22 CHECK (port BETWEEN 1 AND 65535),
        ssh_user TEXT NOT NULL DEFAULT 'root',
        auth_json TEXT NOT NULL DEFAULT '{"kind":"agent"}',
        host_key_fingerprint TEXT,
        host_key_type TEXT,
        host_key_pinned_at TEXT,
        agent_dir TEXT NOT NULL,
        nbd_listen TEXT NOT NULL,
        runtime TEXT NOT NULL DEFAULT 'auto' CHECK (runtime IN ('auto', 'system', 'bundled')),
        status TEXT NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'online', 'offline', 'error')),
        status_detail TEXT,
        agent_version TEXT,
        last_seen TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE pools (
        id INTEGER PRIMARY KEY,
        appliance_id INTEGER NOT NULL REFERENCES appliances(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        config_json TEXT NOT NULL DEFAULT '{}',
        capacity_bytes INTEGER,
        free_bytes INTEGER,
        seen_at TEXT NOT NULL,
        UNIQUE (appliance_id, name)
      );
      CREATE TABLE lvs (
        id INTEGER PRIMARY KEY,
        pool_id INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        allocated_bytes INTEGER,
        seen_at TEXT NOT NULL,
        UNIQUE (pool_id, name)
      );
      CREATE TABLE volumes (
        uuid TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        size_bytes INTEGER NOT NULL,
        front_appliance_id INTEGER REFERENCES appliances(id) ON DELETE SET NULL,
        mapping_json TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        seen_at TEXT NOT NULL
      );
      CREATE TABLE mapping_history (
        id INTEGER PRIMARY KEY,
        vv_uuid TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        mapping_json TEXT NOT NULL,
        at TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('console', 'agent-drift'))
      );
      CREATE INDEX mapping_history_by_vv ON mapping_history (vv_uuid, epoch);
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details_json TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX audit_by_at ON audit (at);
    `,
  },
  {
    version: 2,
    name: 'moves journal, link throughput',
    sql: `
      CREATE TABLE moves (
        id TEXT PRIMARY KEY,
        vv_uuid TEXT NOT NULL,
        from_json TEXT NOT NULL,
        to_json TEXT NOT NULL,
        phase TEXT NOT NULL,
        options_json TEXT NOT NULL DEFAULT '{}',
        agent_move_id TEXT,
        error_json TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
      );
      CREATE INDEX moves_by_vv ON moves (vv_uuid);
      CREATE TABLE move_journal (
        id INTEGER PRIMARY KEY,
        move_id TEXT NOT NULL REFERENCES moves(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        phase TEXT NOT NULL,
        detail_json TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX move_journal_by_move ON move_journal (move_id, id);
      CREATE TABLE link_throughput (
        id INTEGER PRIMARY KEY,
        from_appliance_id INTEGER NOT NULL REFERENCES appliances(id) ON DELETE CASCADE,
        to_appliance_id INTEGER NOT NULL REFERENCES appliances(id) ON DELETE CASCADE,
        bytes_per_sec REAL NOT NULL CHECK (bytes_per_sec >= 0),
        measured_at TEXT NOT NULL
      );
      CREATE INDEX link_throughput_by_pair ON link_throughput (from_appliance_id, to_appliance_id, measured_at);
    `,
  },
  {
    version: 3,
    name: 'plans',
    sql: `
      CREATE TABLE plans (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'draft',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE plan_steps (
        plan_id TEXT NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        vv_uuid TEXT NOT NULL,
        to_json TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        move_id TEXT REFERENCES moves(id) ON DELETE SET NULL,
        error TEXT,
        PRIMARY KEY (plan_id, position)
      );
    `,
  },
  {
    version: 4,
    name: 'plan options, runs and thin steps',
    sql: `
      ALTER TABLE plans ADD COLUMN options_json TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE plans ADD COLUMN last_run_at TEXT;
      ALTER TABLE plan_steps ADD COLUMN thin INTEGER NOT NULL DEFAULT 0 CHECK (thin IN (0, 1));
      ALTER TABLE plan_steps ADD COLUMN finished_at TEXT;
      CREATE INDEX plans_by_name ON plans (name);
    `,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to `target` (default: latest). Returns the versions applied. Refuses a
 * file written by a newer Ferry rather than guess at a schema it does not know.
 */
export function migrate(db: Database.Database, target: number = LATEST_SCHEMA_VERSION): number[] {
  const current = schemaVersion(db);
  if (current > LATEST_SCHEMA_VERSION) {
    throw new FerryError(
      'ERR_UNSUPPORTED',
      `the store ${db.name} has schema version ${current}, newer than this Ferry knows (${LATEST_SCHEMA_VERSION}): ` +
        'upgrade Ferry, or point FERRY_STORE at another file',
      { version: current, latest: LATEST_SCHEMA_VERSION },
    );
  }
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    if (migration.version <= current || migration.version > target) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
      db.pragma(`user_version = ${migration.version}`);
    })();
    applied.push(migration.version);
  }
  return applied;
}
