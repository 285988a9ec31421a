// Measured copy throughput per appliance pair (directional), for the planner's duration estimates.
import { FerryError } from '../../../shared/errors.js';
import { type StoreContext, stmt } from './store-context.js';

export interface ThroughputSample {
  fromApplianceId: number;
  toApplianceId: number;
  bytesPerSec: number;
  measuredAt: string;
}

interface ThroughputRow {
  from_appliance_id: number;
  to_appliance_id: number;
  bytes_per_sec: number;
  measured_at: string;
}

const toSample = (row: ThroughputRow): ThroughputSample => ({
  fromApplianceId: row.from_appliance_id,
  toApplianceId: row.to_appliance_id,
  bytesPerSec: row.bytes_per_sec,
  measuredAt: row.measured_at,
});

export class ThroughputRepo {
  constructor(private readonly ctx: StoreContext) {}

  /** Not audited: a measurement, not a change an admin made. */
  record(fromApplianceId: number, toApplianceId: number, bytesPerSec: number, measuredAt?: string): void {
    if (!Number.isFinite(bytesPerSec) || bytesPerSec < 0) {
      throw new FerryError(
        'ERR_INVALID_ARGUMENT',
        `throughput must be a non-negative number, got ${bytesPerSec}`,
      );
    }
    stmt(
      this.ctx.db,
      'INSERT INTO link_throughput (from_appliance_id, to_appliance_id, bytes_per_sec, measured_at) VALUES (?, ?, ?, ?)',
    ).run(fromApplianceId, toApplianceId, bytesPerSec, measuredAt ?? this.ctx.now());
  }

  /** Newest first. */
  samples(fromApplianceId: number, toApplianceId: number, limit = 20): ThroughputSample[] {
    const rows = stmt(
      this.ctx.db,
      `SELECT * FROM link_throughput WHERE from_appliance_id = ? AND to_appliance_id = ?
         ORDER BY measured_at DESC, id DESC LIMIT ?`,
    ).all(fromApplianceId, toApplianceId, limit) as ThroughputRow[];
    return rows.map(toSample);
  }

  /** Median of the last `window` samples (robust to one slow run), or undefined when never measured. */
  estimate(fromApplianceId: number, toApplianceId: number, window = 5): number | undefined {
    const values = this.samples(fromApplianceId, toApplianceId, window)
      .map((s) => s.bytesPerSec)
      .sort((a, b) => a - b);
    if (values.length === 0) return undefined;
    const mid = Math.floor(values.length / 2);
    return values.length % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  }
}
