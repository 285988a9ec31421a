// Store migrations: from an empty file and from every earlier schema version (fixtures built by the
// migration code itself, then filled with data the later versions must keep).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, openStore } from '../../main/core/store/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tables(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
        name: string;
      }[]
    ).map((r) => r.name);
  } finally {
    db.close();
  }
}

describe('store migrations', () => {
  it('numbers migrations 1..N without gaps', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });

  it('creates the latest schema in an empty file, WAL and foreign keys on', () => {
    const path = join(dir, 'ferry.db');
    const store = openStore({ path });
    expect(store.migrationsApplied).toEqual(MIGRATIONS.map((m) => m.version));
    expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    expect(store.journalMode).toBe('wal');
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    const history = store.db.prepare('SELECT version FROM schema_version ORDER BY version').all();
    expect(history).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    store.close();
    expect(tables(path)).toEqual(
      expect.arrayContaining([
        'appliances',
        'pools',
        'lvs',
        'volumes',
        'mapping_history',
        'moves',
        'move_journal',
        'link_throughput',
        'plans',
        'plan_steps',
        'audit',
        'schema_version',
      ]),
    );
    // Opening again applies nothing.
    const again = openStore({ path });
    expect(again.migrationsApplied).toEqual([]);
    again.close();
  });

  for (const from of MIGRATIONS.slice(0, -1).map((m) => m.version)) {
    it(`upgrades a v${from} store to v${LATEST_SCHEMA_VERSION}, keeping its data`, () => {
      const path = join(dir, `v${from}.db`);
      const old = openStore({ path, migrateTo: from, actor: 'fixture' });
      expect(old.schemaVersion).toBe(from);
      const appliance = old.appliances.add({
        name: 'alpha',
        host: '127.0.0.11',
        agentDir: '/var/lib/ferry',
        nbdListen: '127.0.0.11:10809',
      });
      old.appliances.pinHostKey('alpha', `SHA256:${'A'.repeat(43)}`, 'ssh-ed25519');
      old.inventory.upsertPool(appliance.id, {
        name: 'fast',
        kind: 'dir',
        capacityBytes: 1 << 30,
        freeBytes: 1 << 29,
        lvs: [{ name: 'lv1', sizeBytes: 1 << 20 }],
      });
      old.volumes.create({
        uuid: '11111111-2222-3333-4444-555555555555',
        name: 'db1',
        sizeBytes: 1 << 20,
        frontApplianceId: appliance.id,
        mapping: { appliance: 'alpha', pool: 'fast', lv: 'lv1' },
        epoch: 1,
      });
      if (from >= 2) {
        old.moves.create({
          id: 'm1',
          vvUuid: '11111111-2222-3333-4444-555555555555',
          from: { appliance: 'alpha', pool: 'fast', lv: 'lv1' },
          to: { appliance: 'alpha', pool: 'fast', lv: 'lv2' },
        });
      }
      old.close();

      const store = openStore({ path });
      expect(store.migrationsApplied).toEqual(
        MIGRATIONS.filter((m) => m.version > from).map((m) => m.version),
      );
      expect(store.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
      expect(store.appliances.require('alpha').hostKey?.fingerprint).toBe(`SHA256:${'A'.repeat(43)}`);
      expect(store.inventory.lvs().map((l) => l.name)).toEqual(['lv1']);
      expect(store.volumes.history('db1')).toHaveLength(1);
      expect(store.audit.list({ subject: 'alpha' }).length).toBeGreaterThan(0);
      if (from >= 2) expect(store.moves.require('m1').phase).toBe('created');
      // Tables of the later versions work.
      store.plans.create('p', [
        { vvUuid: '11111111-2222-3333-4444-555555555555', to: { appliance: 'alpha', pool: 'fast' } },
      ]);
      store.throughput.record(appliance.id, appliance.id, 100e6);
      expect(store.throughput.estimate(appliance.id, appliance.id)).toBe(100e6);
      store.close();
    });
  }

  it('refuses a store written by a newer Ferry', () => {
    const path = join(dir, 'future.db');
    const db = new Database(path);
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openStore({ path })).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }));
  });

  it('rolls a failing migration back whole', () => {
    const path = join(dir, 'clash.db');
    const old = openStore({ path, migrateTo: 1 });
    // A table that migration 2 wants to create: v2 must fail and leave the file at v1.
    old.db.exec('CREATE TABLE moves (x INTEGER)');
    old.close();
    expect(() => openStore({ path })).toThrow(/cannot prepare the store/);
    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(
      db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'link_throughput'").get(),
    ).toEqual({ n: 0 });
    db.close();
  });
});
