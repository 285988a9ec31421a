// Retention of what ended moves leave in the state dir: the journal policy (keep everything younger
// than 7 days and always the 50 most recent ended, never a move that has not ended), and the
// removal of PSK secrets and journals on a real state dir, driven by a fake clock.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import {
  initialCheckpoint,
  MoveJournal,
  type MoveRecord,
  moveDocumentName,
  movePskSecretName,
} from '../../agent/move/move-journal.js';
import {
  JOURNAL_KEEP_COUNT,
  JOURNAL_KEEP_MS,
  journalsToPrune,
  MoveRetention,
  type RetentionStore,
} from '../../agent/move/move-retention.js';
import type { MovePhase } from '../../agent/move/move-types.js';
import { StateStore } from '../../agent/state/state-store.js';

const MiB = 1024 * 1024;
const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2026-06-01T12:00:00.000Z');

class FakeClockForTest {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
}

/** A store whose removals fail, to check that retention only warns. */
class FakeFailingStoreForTest implements RetentionStore {
  async list(): Promise<string[]> {
    return [];
  }
  async listSecrets(): Promise<string[]> {
    return ['move.m-lost.psk'];
  }
  async remove(doc: string): Promise<void> {
    throw new Error(`EIO removing ${doc} (test)`);
  }
  async removeSecret(name: string): Promise<void> {
    throw new Error(`EIO removing ${name} (test)`);
  }
}

function ago(ms: number): string {
  return new Date(NOW - ms).toISOString();
}

function fields(id: string, remote = true) {
  return {
    id,
    vv: `vol-${id}`,
    source: { kind: 'local' as const, pool: 'fast', lv: `vol-${id}` },
    target: remote
      ? { kind: 'remote' as const, url: 'nbds://127.0.0.1:10809/slow/t1', pskIdentity: `ferry-${id}` }
      : { kind: 'local' as const, pool: 'slow', lv: `t-${id}` },
    options: {
      chunkSize: 4 * MiB,
      parallel: 4,
      throttle: null,
      busyThrottle: null,
      verify: false,
      keepSource: false,
      targetReadsZero: false,
    },
    epoch: 1,
    size: 16 * MiB,
    checkpoint: initialCheckpoint(16 * MiB, 64 * 1024),
  };
}

/** A record that ended (or not) `age` ms before NOW. */
function record(id: string, phase: MovePhase, age: number, over: Partial<MoveRecord> = {}): MoveRecord {
  const base = fields(id);
  const ended = phase === 'done' || phase === 'aborted' || phase === 'failed';
  return {
    ...base,
    version: 1,
    checkpoint: { ...base.checkpoint, phase },
    createdAt: ago(age + DAY),
    updatedAt: ago(age),
    finishedAt: ended ? ago(age) : null,
    ...over,
  };
}

const PHASES: MovePhase[] = ['done', 'aborted', 'failed'];

describe('move journal retention policy', () => {
  it('keeps the 50 most recent ended moves whatever their age, prunes older ended ones', () => {
    // 60 ended moves, 8 to 67 days old, and moves that never ended, older than all of them.
    const ended = Array.from({ length: 60 }, (_, i) => record(`m-${i}`, PHASES[i % 3], (8 + i) * DAY));
    const running = (['copying', 'degraded', 'verifying', 'cutover'] as MovePhase[]).map((p, i) =>
      record(`r-${i}`, p, 400 * DAY),
    );
    const pruned = journalsToPrune([...running, ...ended].reverse(), NOW);
    expect(JOURNAL_KEEP_COUNT).toBe(50);
    expect(pruned.sort()).toEqual(
      ended
        .slice(50)
        .map((r) => r.id)
        .sort(),
    );
  });

  it('keeps every ended move younger than 7 days even past 50; the 7-day edge is kept', () => {
    const recent = Array.from({ length: 70 }, (_, i) => record(`new-${i}`, 'done', i * 60_000));
    const edge = record('edge', 'aborted', JOURNAL_KEEP_MS);
    const justOver = record('just-over', 'failed', JOURNAL_KEEP_MS + 1);
    const old = record('old', 'done', 30 * DAY);
    expect(JOURNAL_KEEP_MS).toBe(7 * DAY);
    expect(journalsToPrune([old, ...recent, justOver, edge], NOW).sort()).toEqual(['just-over', 'old']);
  });

  it('prunes nothing while there are at most 50 ended moves, however old', () => {
    const ancient = Array.from({ length: 50 }, (_, i) => record(`a-${i}`, 'done', (365 + i) * DAY));
    expect(journalsToPrune(ancient, NOW)).toEqual([]);
  });

  it('uses the last update when finishedAt is missing, and keeps a record whose time is unreadable', () => {
    const recent = Array.from({ length: 50 }, (_, i) => record(`n-${i}`, 'done', i * 1000));
    const noFinish = record('no-finish', 'done', 20 * DAY, { finishedAt: null });
    const garbled = record('garbled', 'failed', 20 * DAY, { finishedAt: 'yesterday-ish' });
    expect(journalsToPrune([...recent, noFinish, garbled], NOW)).toEqual(['no-finish']);
  });
});

describe('move retention on a state dir', () => {
  let dir: string | undefined;
  let store: StateStore | undefined;
  afterEach(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    store = dir = undefined;
  });

  async function openStore(): Promise<StateStore> {
    dir = mkdtempSync(join(tmpdir(), 'ferry-retention-'));
    store = await StateStore.open(dir);
    return store;
  }

  const docFile = (id: string) => join(dir!, `${moveDocumentName(id)}.json`);
  const secretFile = (id: string) => join(dir!, 'secrets', `${movePskSecretName(id)}.key`);

  /** A journal on disk (with its PSK secret) that ended `age` ms before NOW, or is still in `phase`. */
  async function journal(s: StateStore, id: string, phase: MovePhase, age: number): Promise<MoveJournal> {
    const j = await MoveJournal.create(s, fields(id));
    await s.writeSecret(movePskSecretName(id), Buffer.alloc(32, 7));
    await j.update({
      checkpoint: { ...j.record.checkpoint, phase },
      finishedAt: PHASES.includes(phase) ? ago(age) : null,
    });
    return j;
  }

  it('deletes the pruned journals and their secrets, and never touches a move that has not ended', async () => {
    const s = await openStore();
    const lines: string[] = [];
    const clock = new FakeClockForTest(NOW);
    const retention = new MoveRetention({
      store: s,
      log: createLogger('test', (l) => lines.push(l)),
      now: clock.now,
    });
    const ended: MoveJournal[] = [];
    for (let i = 0; i < 53; i++) ended.push(await journal(s, `m-${i}`, PHASES[i % 3], (10 + i) * DAY));
    const running = await journal(s, 'r-1', 'degraded', 0);

    expect(await retention.prune([running, ...ended])).toEqual(['m-50', 'm-51', 'm-52']);
    for (const id of ['m-50', 'm-51', 'm-52']) {
      expect(existsSync(docFile(id))).toBe(false);
      expect(existsSync(secretFile(id))).toBe(false);
    }
    expect(existsSync(docFile('m-49'))).toBe(true);
    expect(existsSync(docFile('r-1'))).toBe(true);
    expect(existsSync(secretFile('r-1'))).toBe(true);
    expect(lines.join('\n')).toMatch(/pruned the journals of 3 ended move\(s\)/);

    // A week later the same records are still kept by count; pruning again is a no-op.
    clock.ms += 7 * DAY;
    expect(await retention.prune([running, ...ended.slice(0, 50)])).toEqual([]);
    expect(existsSync(docFile('m-0'))).toBe(true);
  });

  it('at start, removes move keys no journal names and keeps those of known moves', async () => {
    const s = await openStore();
    const lines: string[] = [];
    const retention = new MoveRetention({ store: s, log: createLogger('test', (l) => lines.push(l)) });
    await journal(s, 'm-known', 'copying', 0);
    await s.writeSecret(movePskSecretName('m-orphan'), Buffer.alloc(32, 9)); // died before its journal
    await s.writeSecret('psk.vol1', Buffer.alloc(32, 1)); // a volume's key: not a move's
    await retention.forgetOrphanSecrets();
    expect(existsSync(secretFile('m-orphan'))).toBe(false);
    expect(existsSync(secretFile('m-known'))).toBe(true);
    expect(await s.readSecret('psk.vol1')).toEqual(Buffer.alloc(32, 1));
    expect(lines.join('\n')).toMatch(/removed the PSK key of move m-orphan, which never got a journal/);
  });

  it("forgets an ended remote move's key at once and idempotently; keeps a running move's", async () => {
    const s = await openStore();
    const retention = new MoveRetention({ store: s, log: createLogger('test', () => {}) });
    const aborted = await journal(s, 'm-ab', 'aborted', 0);
    const copying = await journal(s, 'm-cp', 'copying', 0);
    expect(existsSync(secretFile('m-ab'))).toBe(true);
    expect(await retention.forgetSecret(aborted.record)).toBe(true);
    expect(await retention.forgetSecret(aborted.record)).toBe(true);
    expect(existsSync(secretFile('m-ab'))).toBe(false);
    // The journal stays: it is history.
    expect(existsSync(docFile('m-ab'))).toBe(true);
    expect(await retention.forgetSecret(copying.record)).toBe(true);
    expect(existsSync(secretFile('m-cp'))).toBe(true);
    // A local target never had a key: nothing to do.
    const local = await MoveJournal.create(s, fields('m-local', false));
    await local.saveCheckpoint({ ...local.record.checkpoint, phase: 'done' });
    expect(await retention.forgetSecret(local.record)).toBe(true);
  });

  it('only warns when the state dir refuses a removal, and keeps the journal of a key it could not remove', async () => {
    const lines: string[] = [];
    const retention = new MoveRetention({
      store: new FakeFailingStoreForTest(),
      log: createLogger('test', (l) => lines.push(l)),
      now: new FakeClockForTest(NOW).now,
    });
    const old = Array.from({ length: 52 }, (_, i) => ({ record: record(`m-${i}`, 'done', (30 + i) * DAY) }));
    expect(await retention.forgetSecret(old[0].record)).toBe(false);
    expect(await retention.prune(old)).toEqual([]);
    expect(lines.filter((l) => /WARN .*PSK key could not be removed: EIO/.test(l))).toHaveLength(3);
    // Later prunes still run (one failed prune does not wedge the queue).
    expect(await retention.prune([])).toEqual([]);
    // The start-up sweep for keys without a journal warns too, and does not throw.
    await retention.forgetOrphanSecrets();
    expect(lines.join('\n')).toMatch(
      /WARN .*looking for move keys without a journal: EIO removing move\.m-lost\.psk/,
    );
  });
});
