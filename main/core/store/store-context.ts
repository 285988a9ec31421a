// What every repository gets from the Store: the database, who is acting, the clock, and the audit
// writer. Repositories prepare statements through stmt(), which caches them per SQL text and prepares
// lazily, so a store opened at an earlier schema (migration tests) only fails on tables it lacks.
import type Database from 'better-sqlite3';

export interface StoreContext {
  readonly db: Database.Database;
  readonly actor: string;
  /** Current time as ISO 8601. */
  now(): string;
  /** Appends one audit row; call it inside the same transaction as the change it records. */
  audit(action: string, subject: string, details?: Record<string, unknown>): void;
}

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

export function stmt(db: Database.Database, sql: string): Database.Statement {
  let byText = cache.get(db);
  if (!byText) {
    byText = new Map();
    cache.set(db, byText);
  }
  let statement = byText.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    byText.set(sql, statement);
  }
  return statement;
}

/** Parses a JSON column written by this store; a corrupt cell becomes an empty object, not a crash. */
export function parseJsonColumn<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
