// The audit log: who changed what, when. Rows are written by the other repositories inside the
// transaction of the change; this repository reads them (and lets shells record actions that touch
// no table, such as a deploy).
import { parseJsonColumn, type StoreContext, stmt } from './store-context.js';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details_json: string;
}

export interface AuditQuery {
  subject?: string;
  /** Prefix match on the action, e.g. 'appliance.' */
  actionPrefix?: string;
  /** ISO time; entries at or after it. */
  since?: string;
  /** Newest first, at most this many (default 200). */
  limit?: number;
}

export class AuditRepo {
  constructor(private readonly ctx: StoreContext) {}

  record(action: string, subject: string, details: Record<string, unknown> = {}): void {
    this.ctx.audit(action, subject, details);
  }

  list(query: AuditQuery = {}): AuditEntry[] {
    const rows = stmt(
      this.ctx.db,
      `SELECT * FROM audit
         WHERE (@subject IS NULL OR subject = @subject)
           AND (@prefix IS NULL OR substr(action, 1, length(@prefix)) = @prefix)
           AND (@since IS NULL OR at >= @since)
         ORDER BY id DESC LIMIT @limit`,
    ).all({
      subject: query.subject ?? null,
      prefix: query.actionPrefix ?? null,
      since: query.since ?? null,
      limit: query.limit ?? 200,
    }) as AuditRow[];
    return rows.map((row) => ({
      id: row.id,
      at: row.at,
      actor: row.actor,
      action: row.action,
      subject: row.subject,
      details: parseJsonColumn<Record<string, unknown>>(row.details_json, {}),
    }));
  }
}
