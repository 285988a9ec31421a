// Virtual volumes as last seen, their current mapping (vv -> appliance/pool/LV) with its epoch, and
// the history of every mapping they had. The console records its own cutovers (source 'console'); a
// higher epoch reported by an agent wins and is recorded as drift ('agent-drift').
import { FerryError } from '../../../shared/errors.js';
import { validateName } from '../../../shared/names.js';
import { parseJsonColumn, type StoreContext, stmt } from './store-context.js';

/** Where a vv's data lives. */
export interface VolumeMapping {
  appliance: string;
  pool: string;
  lv: string;
}

export type MappingSource = 'console' | 'agent-drift';

export interface Volume {
  uuid: string;
  name: string;
  sizeBytes: number;
  frontApplianceId: number | null;
  mapping: VolumeMapping;
  epoch: number;
  seenAt: string;
}

export interface VolumeSnapshot {
  uuid: string;
  name: string;
  sizeBytes: number;
  frontApplianceId: number | null;
  mapping: VolumeMapping;
  epoch: number;
}

export interface MappingRecord {
  vvUuid: string;
  epoch: number;
  mapping: VolumeMapping;
  at: string;
  source: MappingSource;
}

/** What observe() concluded from an agent's report. */
export type ObserveOutcome =
  | { kind: 'new'; volume: Volume }
  | { kind: 'unchanged'; volume: Volume }
  | { kind: 'drift'; volume: Volume; previous: { epoch: number; mapping: VolumeMapping } }
  /** The store knows a newer epoch than the agent reports: the agent missed a change. */
  | { kind: 'store-ahead'; volume: Volume; reportedEpoch: number }
  /** Same epoch, different mapping: two writers disagree; nothing is changed, a human must look. */
  | { kind: 'conflict'; volume: Volume; reported: VolumeMapping };

interface VolumeRow {
  uuid: string;
  name: string;
  size_bytes: number;
  front_appliance_id: number | null;
  mapping_json: string;
  epoch: number;
  seen_at: string;
}

const EMPTY_MAPPING: VolumeMapping = { appliance: '', pool: '', lv: '' };

const toVolume = (row: VolumeRow): Volume => ({
  uuid: row.uuid,
  name: row.name,
  sizeBytes: row.size_bytes,
  frontApplianceId: row.front_appliance_id,
  mapping: parseJsonColumn<VolumeMapping>(row.mapping_json, EMPTY_MAPPING),
  epoch: row.epoch,
  seenAt: row.seen_at,
});

const sameMapping = (a: VolumeMapping, b: VolumeMapping) =>
  a.appliance === b.appliance && a.pool === b.pool && a.lv === b.lv;

function checkSnapshot(s: VolumeSnapshot): void {
  if (!/^[0-9a-f-]{8,64}$/i.test(s.uuid)) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `invalid volume uuid ${JSON.stringify(s.uuid)}`);
  }
  validateName('volume', s.name);
  if (!Number.isSafeInteger(s.sizeBytes) || s.sizeBytes <= 0) {
    throw new FerryError(
      'ERR_INVALID_SIZE',
      `volume size must be a positive integer of bytes, got ${s.sizeBytes}`,
    );
  }
  checkEpoch(s.epoch);
}

function checkEpoch(epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `epoch must be a non-negative integer, got ${epoch}`);
  }
}

export class VolumesRepo {
  constructor(private readonly ctx: StoreContext) {}

  list(): Volume[] {
    return (stmt(this.ctx.db, 'SELECT * FROM volumes ORDER BY name').all() as VolumeRow[]).map(toVolume);
  }

  /** By uuid or by name. */
  get(uuidOrName: string): Volume | undefined {
    const row = stmt(this.ctx.db, 'SELECT * FROM volumes WHERE uuid = ? OR name = ?').get(
      uuidOrName,
      uuidOrName,
    ) as VolumeRow | undefined;
    return row ? toVolume(row) : undefined;
  }

  require(uuidOrName: string): Volume {
    const found = this.get(uuidOrName);
    if (!found) {
      throw new FerryError(
        'ERR_NOT_FOUND',
        `no volume ${JSON.stringify(uuidOrName)}: see \`ferry volume list\``,
      );
    }
    return found;
  }

  /** A volume the console just created: inserted with its first mapping in the history. */
  create(snapshot: VolumeSnapshot): Volume {
    checkSnapshot(snapshot);
    return this.ctx.db.transaction(() => {
      if (this.get(snapshot.uuid) || this.get(snapshot.name)) {
        throw new FerryError(
          'ERR_ALREADY_EXISTS',
          `a volume named ${JSON.stringify(snapshot.name)} already exists`,
        );
      }
      this.insert(snapshot);
      this.appendHistory(snapshot.uuid, snapshot.epoch, snapshot.mapping, 'console');
      this.ctx.audit('volume.create', snapshot.name, {
        uuid: snapshot.uuid,
        sizeBytes: snapshot.sizeBytes,
        mapping: snapshot.mapping,
        epoch: snapshot.epoch,
      });
      return this.require(snapshot.uuid);
    })();
  }

  remove(uuidOrName: string): void {
    this.ctx.db.transaction(() => {
      const volume = this.require(uuidOrName);
      stmt(this.ctx.db, 'DELETE FROM volumes WHERE uuid = ?').run(volume.uuid);
      this.ctx.audit('volume.remove', volume.name, { uuid: volume.uuid });
    })();
  }

  /**
   * The console changed the mapping (a cutover it orchestrated). `expectedEpoch` is the epoch the
   * change was made from: a stale one is refused, as the agents do.
   */
  commitMapping(uuidOrName: string, expectedEpoch: number, epoch: number, mapping: VolumeMapping): Volume {
    checkEpoch(epoch);
    return this.ctx.db.transaction(() => {
      const volume = this.require(uuidOrName);
      if (volume.epoch !== expectedEpoch) {
        throw new FerryError(
          'ERR_STALE_EPOCH',
          `volume ${volume.name} is at epoch ${volume.epoch}, not ${expectedEpoch}: refresh the inventory and retry`,
          { current: volume.epoch, expected: expectedEpoch },
        );
      }
      if (epoch <= volume.epoch) {
        throw new FerryError('ERR_STALE_EPOCH', `new epoch ${epoch} must be above ${volume.epoch}`);
      }
      this.setMapping(volume.uuid, epoch, mapping);
      this.appendHistory(volume.uuid, epoch, mapping, 'console');
      this.ctx.audit('volume.mapping', volume.name, {
        from: volume.mapping,
        to: mapping,
        epoch,
        source: 'console',
      });
      return this.require(volume.uuid);
    })();
  }

  /** Reconciles with what an agent reports for one vv (see ObserveOutcome). */
  observe(reported: VolumeSnapshot, seenAt: string = this.ctx.now()): ObserveOutcome {
    checkSnapshot(reported);
    return this.ctx.db.transaction((): ObserveOutcome => {
      const known = this.get(reported.uuid);
      if (!known) {
        this.insert(reported, seenAt);
        this.appendHistory(reported.uuid, reported.epoch, reported.mapping, 'agent-drift', seenAt);
        this.ctx.audit('volume.seen', reported.name, {
          uuid: reported.uuid,
          mapping: reported.mapping,
          epoch: reported.epoch,
        });
        return { kind: 'new', volume: this.require(reported.uuid) };
      }
      stmt(
        this.ctx.db,
        'UPDATE volumes SET seen_at = ?, size_bytes = ?, front_appliance_id = ? WHERE uuid = ?',
      ).run(seenAt, reported.sizeBytes, reported.frontApplianceId, known.uuid);
      if (reported.epoch > known.epoch) {
        this.setMapping(known.uuid, reported.epoch, reported.mapping);
        this.appendHistory(known.uuid, reported.epoch, reported.mapping, 'agent-drift', seenAt);
        this.ctx.audit('volume.mapping', known.name, {
          from: known.mapping,
          to: reported.mapping,
          epoch: reported.epoch,
          source: 'agent-drift',
        });
        return {
          kind: 'drift',
          volume: this.require(known.uuid),
          previous: { epoch: known.epoch, mapping: known.mapping },
        };
      }
      const volume = this.require(known.uuid);
      if (reported.epoch < known.epoch) return { kind: 'store-ahead', volume, reportedEpoch: reported.epoch };
      if (!sameMapping(reported.mapping, known.mapping)) {
        this.ctx.audit('volume.mapping-conflict', known.name, {
          epoch: known.epoch,
          store: known.mapping,
          agent: reported.mapping,
        });
        return { kind: 'conflict', volume, reported: reported.mapping };
      }
      return { kind: 'unchanged', volume };
    })();
  }

  /** Oldest first. */
  history(uuidOrName: string): MappingRecord[] {
    const volume = this.get(uuidOrName);
    const uuid = volume?.uuid ?? uuidOrName;
    const rows = stmt(
      this.ctx.db,
      'SELECT vv_uuid, epoch, mapping_json, at, source FROM mapping_history WHERE vv_uuid = ? ORDER BY epoch, id',
    ).all(uuid) as {
      vv_uuid: string;
      epoch: number;
      mapping_json: string;
      at: string;
      source: MappingSource;
    }[];
    return rows.map((row) => ({
      vvUuid: row.vv_uuid,
      epoch: row.epoch,
      mapping: parseJsonColumn<VolumeMapping>(row.mapping_json, EMPTY_MAPPING),
      at: row.at,
      source: row.source,
    }));
  }

  private insert(s: VolumeSnapshot, seenAt: string = this.ctx.now()): void {
    stmt(
      this.ctx.db,
      `INSERT INTO volumes (uuid, name, size_bytes, front_appliance_id, mapping_json, epoch, seen_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(s.uuid, s.name, s.sizeBytes, s.frontApplianceId, JSON.stringify(s.mapping), s.epoch, seenAt);
  }

  private setMapping(uuid: string, epoch: number, mapping: VolumeMapping): void {
    stmt(this.ctx.db, 'UPDATE volumes SET mapping_json = ?, epoch = ? WHERE uuid = ?').run(
      JSON.stringify(mapping),
      epoch,
      uuid,
    );
  }

  private appendHistory(
    uuid: string,
    epoch: number,
    mapping: VolumeMapping,
    source: MappingSource,
    at: string = this.ctx.now(),
  ): void {
    stmt(
      this.ctx.db,
      'INSERT INTO mapping_history (vv_uuid, epoch, mapping_json, at, source) VALUES (?, ?, ?, ?, ?)',
    ).run(uuid, epoch, JSON.stringify(mapping), at, source);
  }
}
