// The console's mapping store: one SQLite file (better-sqlite3, WAL, foreign keys on), migrated to the
// latest schema on open, and a typed repository per table. Mutating repository calls write their audit
// row in the same transaction, so the audit log never misses a change nor records one that rolled back.
import { mkdirSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { FerryError } from '../../../shared/errors.js';
import { migrate, schemaVersion } from './migrations.js';
import { AppliancesRepo } from './repo-appliances.js';
import { AuditRepo } from './repo-audit.js';
import { InventoryRepo } from './repo-inventory.js';
import { MovesRepo } from './repo-moves.js';
import { PlansRepo } from './repo-plans.js';
import { ThroughputRepo } from './repo-throughput.js';
import { VolumesRepo } from './repo-volumes.js';
import { type StoreContext, stmt } from './store-context.js';
import { resolveStorePath } from './store-path.js';

export interface OpenStoreOptions {
  /** File to open; default FERRY_STORE, else <user data folder>/ferry.db. ':memory:' for a throwaway. */
  path?: string;
  /** Who the audit log names for changes made through this handle; default user@host. */
  actor?: string;
  /** Clock for timestamps (ISO 8601); tests pin it. */
  now?: () => Date;
  /** Stop migrating at this version (tests that build fixtures of earlier schemas). */
  migrateTo?: number;
}

function defaultActor(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `console@${hostname()}`;
  }
}

export class Store {
  readonly path: string;
  readonly db: Database.Database;
  readonly appliances: AppliancesRepo;
  readonly inventory: InventoryRepo;
  readonly volumes: VolumesRepo;
  readonly moves: MovesRepo;
  readonly throughput: ThroughputRepo;
  readonly plans: PlansRepo;
  readonly audit: AuditRepo;
  /** Versions the open applied (empty when the file was already current). */
  readonly migrationsApplied: number[];
  private closed = false;

  constructor(options: OpenStoreOptions = {}) {
    this.path = options.path === ':memory:' ? ':memory:' : resolveStorePath(options.path);
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    try {
      this.db = new Database(this.path);
    } catch (err) {
      throw new FerryError('ERR_IO', `cannot open the store ${this.path}: ${(err as Error).message}`);
    }
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      this.migrationsApplied = migrate(this.db, options.migrateTo);
    } catch (err) {
      this.db.close();
      if (err instanceof FerryError) throw err;
      throw new FerryError('ERR_IO', `cannot prepare the store ${this.path}: ${(err as Error).message}`);
    }
    const now = options.now ?? (() => new Date());
    const ctx: StoreContext = {
      db: this.db,
      actor: options.actor ?? defaultActor(),
      now: () => now().toISOString(),
      audit: (action, subject, details = {}) => {
        stmt(
          this.db,
          'INSERT INTO audit (at, actor, action, subject, details_json) VALUES (?, ?, ?, ?, ?)',
        ).run(ctx.now(), ctx.actor, action, subject, JSON.stringify(details));
      },
    };
    this.audit = new AuditRepo(ctx);
    this.appliances = new AppliancesRepo(ctx);
    this.inventory = new InventoryRepo(ctx);
    this.volumes = new VolumesRepo(ctx);
    this.moves = new MovesRepo(ctx);
    this.throughput = new ThroughputRepo(ctx);
    this.plans = new PlansRepo(ctx);
  }

  get schemaVersion(): number {
    return schemaVersion(this.db);
  }

  get journalMode(): string {
    return String(this.db.pragma('journal_mode', { simple: true }));
  }

  /** Runs fn in one transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

export function openStore(options: OpenStoreOptions = {}): Store {
  return new Store(options);
}
