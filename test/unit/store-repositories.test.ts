// Store repositories: typed round trips, validation, epochs and drift, the move state machine, and an
// audit row for every change (with the actor and the clock the store was opened with).
import { describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../main/core/store/index.js';

const UUID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

function fresh(): Store {
  let tick = 0;
  return openStore({
    path: ':memory:',
    actor: 'tester@lab',
    now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)),
  });
}

function addAlpha(store: Store) {
  return store.appliances.add({
    name: 'alpha',
    host: '127.0.0.11',
    agentDir: '/srv/ferry',
    nbdListen: '127.0.0.11:10809',
  });
}

describe('appliances', () => {
  it('adds, updates, pins a host key and removes, each audited', () => {
    const store = fresh();
    const a = addAlpha(store);
    expect(a).toMatchObject({
      name: 'alpha',
      port: 22,
      user: 'root',
      runtime: 'auto',
      status: 'unknown',
      hostKey: null,
    });
    expect(
      store.appliances.update('alpha', { runtime: 'bundled', auth: { kind: 'key', identityFile: '/k' } }),
    ).toMatchObject({
      runtime: 'bundled',
      auth: { kind: 'key', identityFile: '/k' },
    });
    const fp = `SHA256:${'x'.repeat(43)}`;
    expect(store.appliances.pinHostKey('alpha', fp, 'ssh-ed25519').hostKey).toMatchObject({
      fingerprint: fp,
    });
    store.appliances.setStatus('alpha', 'online', { agentVersion: '0.1.0' });
    store.appliances.setStatus('alpha', 'online', { agentVersion: '0.1.0' }); // no change: not audited
    store.appliances.remove('alpha');
    const actions = store.audit.list({ subject: 'alpha' }).map((e) => e.action);
    expect(actions.reverse()).toEqual([
      'appliance.add',
      'appliance.update',
      'appliance.host-key.pin',
      'appliance.status',
      'appliance.remove',
    ]);
    const first = store.audit.list({ subject: 'alpha' }).at(-1)!;
    expect(first.actor).toBe('tester@lab');
    expect(first.at).toMatch(/^2026-01-01T00:00:0\d\.000Z$/);
    expect(JSON.stringify(store.audit.list())).not.toMatch(/password|passphrase/);
  });

  it('rejects bad settings with clear errors', () => {
    const store = fresh();
    addAlpha(store);
    expect(() => addAlpha(store)).toThrow(expect.objectContaining({ code: 'ERR_ALREADY_EXISTS' }));
    expect(() =>
      store.appliances.add({ name: 'Bad Name', host: 'h', agentDir: '/a', nbdListen: 'h:1' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    expect(() => store.appliances.update('alpha', { port: 70000 })).toThrow(/invalid port/);
    expect(() => store.appliances.update('alpha', { agentDir: 'relative' })).toThrow(/absolute/);
    expect(() => store.appliances.pinHostKey('alpha', 'MD5:aa')).toThrow(/SHA256/);
    expect(() => store.appliances.require('nope')).toThrow(
      expect.objectContaining({ code: 'ERR_NOT_FOUND' }),
    );
  });
});

describe('inventory', () => {
  it('replaces an appliance snapshot, auditing what appeared and vanished only', () => {
    const store = fresh();
    const a = addAlpha(store);
    const first = store.inventory.replaceAppliance(a.id, [
      { name: 'p1', kind: 'dir', capacityBytes: 100, freeBytes: 50, lvs: [{ name: 'l1', sizeBytes: 10 }] },
      { name: 'p2', kind: 'device', lvs: [] },
    ]);
    expect(first.added.sort()).toEqual(['alpha/p1', 'alpha/p1/l1', 'alpha/p2']);
    const auditCount = store.audit.list().length;
    const same = store.inventory.replaceAppliance(a.id, [
      { name: 'p1', kind: 'dir', capacityBytes: 100, freeBytes: 40, lvs: [{ name: 'l1', sizeBytes: 10 }] },
      { name: 'p2', kind: 'device', lvs: [] },
    ]);
    expect(same).toEqual({ added: [], removed: [] });
    expect(store.audit.list().length).toBe(auditCount);
    expect(store.inventory.pool(a.id, 'p1')?.freeBytes).toBe(40);
    const change = store.inventory.replaceAppliance(a.id, [
      { name: 'p1', kind: 'dir', lvs: [{ name: 'l2', sizeBytes: 5 }] },
    ]);
    expect(change.added).toEqual(['alpha/p1/l2']);
    expect(change.removed.sort()).toEqual(['alpha/p1/l1', 'alpha/p2']);
    // Removing the appliance cascades to its pools and LVs.
    store.appliances.remove('alpha');
    expect(store.inventory.pools()).toEqual([]);
    expect(store.inventory.lvs()).toEqual([]);
  });
});

describe('volumes and mapping history', () => {
  it('commits console mappings with fencing and records agent drift', () => {
    const store = fresh();
    const a = addAlpha(store);
    const m1 = { appliance: 'alpha', pool: 'p1', lv: 'l1' };
    const m2 = { appliance: 'alpha', pool: 'p2', lv: 'l1' };
    const m3 = { appliance: 'beta', pool: 'p1', lv: 'l1' };
    store.volumes.create({
      uuid: UUID,
      name: 'vol1',
      sizeBytes: 4096,
      frontApplianceId: a.id,
      mapping: m1,
      epoch: 1,
    });
    expect(() => store.volumes.commitMapping('vol1', 0, 2, m2)).toThrow(
      expect.objectContaining({ code: 'ERR_STALE_EPOCH' }),
    );
    store.volumes.commitMapping('vol1', 1, 2, m2);
    const snap = { uuid: UUID, name: 'vol1', sizeBytes: 4096, frontApplianceId: a.id };
    expect(store.volumes.observe({ ...snap, mapping: m2, epoch: 2 }).kind).toBe('unchanged');
    expect(store.volumes.observe({ ...snap, mapping: m1, epoch: 1 }).kind).toBe('store-ahead');
    expect(store.volumes.observe({ ...snap, mapping: m3, epoch: 2 }).kind).toBe('conflict');
    const drift = store.volumes.observe({ ...snap, mapping: m3, epoch: 3 });
    expect(drift).toMatchObject({ kind: 'drift', previous: { epoch: 2, mapping: m2 } });
    expect(store.volumes.require(UUID)).toMatchObject({ epoch: 3, mapping: m3 });
    expect(store.volumes.history('vol1').map((h) => [h.epoch, h.source])).toEqual([
      [1, 'console'],
      [2, 'console'],
      [3, 'agent-drift'],
    ]);
    const actions = store.audit
      .list({ subject: 'vol1' })
      .map((e) => e.action)
      .reverse();
    expect(actions).toEqual(['volume.create', 'volume.mapping', 'volume.mapping-conflict', 'volume.mapping']);
  });
});

describe('moves', () => {
  it('journals every phase, refuses a second active move and leaving a terminal phase', () => {
    const store = fresh();
    const from = { appliance: 'alpha', pool: 'p1', lv: 'l1' };
    const to = { appliance: 'beta', pool: 'p1', lv: 'l1' };
    const move = store.moves.create({ vvUuid: UUID, from, to, options: { verify: true } });
    expect(() => store.moves.create({ vvUuid: UUID, from, to })).toThrow(
      expect.objectContaining({ code: 'ERR_VOLUME_BUSY' }),
    );
    store.moves.setPhase(move.id, 'preflight');
    store.moves.setPhase(move.id, 'copying', { percent: 0 });
    store.moves.setPhase(move.id, 'copying'); // replay: no-op
    store.moves.setAgentMoveId(move.id, 'agent-42');
    store.moves.fail(move.id, { code: 'ERR_IO', message: 'target disk gone' });
    expect(() => store.moves.setPhase(move.id, 'copying')).toThrow(
      expect.objectContaining({ code: 'ERR_MOVE_STATE' }),
    );
    const done = store.moves.require(move.id);
    expect(done).toMatchObject({
      phase: 'failed',
      agentMoveId: 'agent-42',
      error: { code: 'ERR_IO' },
      options: { verify: true },
    });
    expect(done.startedAt).not.toBeNull();
    expect(done.finishedAt).not.toBeNull();
    expect(store.moves.journalOf(move.id).map((j) => j.phase)).toEqual([
      'created',
      'preflight',
      'copying',
      'failed',
    ]);
    expect(store.moves.list({ active: true })).toEqual([]);
    expect(store.audit.list({ subject: move.id }).map((e) => e.action)).toContain('move.phase');
    // The vv is free again.
    expect(store.moves.create({ vvUuid: UUID, from, to }).phase).toBe('created');
  });
});

describe('plans and throughput', () => {
  it('keeps plan steps in order and estimates throughput by median', () => {
    const store = fresh();
    const a = addAlpha(store);
    const b = store.appliances.add({
      name: 'beta',
      host: '127.0.0.12',
      agentDir: '/srv/ferry',
      nbdListen: '127.0.0.12:10809',
    });
    const plan = store.plans.create('drain alpha', [
      { vvUuid: UUID, to: { appliance: 'beta', pool: 'p1' } },
      { vvUuid: 'bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee', to: { appliance: 'beta', pool: 'p2' } },
    ]);
    store.plans.setStep(plan.id, 1, { status: 'done' });
    expect(store.plans.require(plan.id).steps.map((s) => [s.position, s.status])).toEqual([
      [0, 'pending'],
      [1, 'done'],
    ]);
    expect(store.throughput.estimate(a.id, b.id)).toBeUndefined();
    for (const bps of [100, 300, 200, 1000, 250]) store.throughput.record(a.id, b.id, bps);
    expect(store.throughput.estimate(a.id, b.id)).toBe(250);
    expect(store.throughput.estimate(b.id, a.id)).toBeUndefined();
    expect(() => store.throughput.record(a.id, b.id, -1)).toThrow(/non-negative/);
  });
});
