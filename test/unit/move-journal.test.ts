// The move's durable record, and what the engine does when it cannot be written.
import { describe, expect, it } from 'vitest';
import { initialCheckpoint, MoveJournal, moveDocumentName } from '../../agent/move/move-journal.js';
import { DEFAULT_BUSY_THROTTLE } from '../../agent/move/move-types.js';
import { FerryError } from '../../shared/errors.js';
import { MemoryJsonStore, makeEngine, randomWriter } from '../helpers/move-harness.js';
import { patternBuffer, TestMemoryBackend } from '../helpers/test-memory-backend.js';

const MiB = 1024 * 1024;

function newRecord(id = 'mv-1') {
  return {
    id,
    vv: 'vol1',
    source: { kind: 'local' as const, pool: 'fast', lv: 'vol1' },
    target: { kind: 'remote' as const, url: 'nbds://127.0.0.12:10809/slow/vol1', pskIdentity: 'ferry-mv-1' },
    options: {
      chunkSize: 4 * MiB,
      parallel: 4,
      throttle: null,
      verify: false,
      keepSource: false,
      targetReadsZero: true,
    },
    epoch: 3,
    size: 64 * MiB,
    checkpoint: initialCheckpoint(64 * MiB, 64 * 1024),
  };
}

describe('move journal', () => {
  it('creates, reloads and updates a record', async () => {
    const store = new MemoryJsonStore();
    const journal = await MoveJournal.create(store, newRecord());
    expect(store.docs.has(moveDocumentName('mv-1'))).toBe(true);
    await journal.saveCheckpoint({ ...journal.record.checkpoint, cursor: 8 * MiB, phase: 'degraded' });
    const again = await MoveJournal.load(store, 'mv-1');
    expect(again?.record.checkpoint.cursor).toBe(8 * MiB);
    expect(again?.phase).toBe('degraded');
    expect(again?.record.finishedAt).toBeNull();
    await again!.saveCheckpoint({ ...again!.record.checkpoint, phase: 'done' });
    expect((await MoveJournal.load(store, 'mv-1'))?.record.finishedAt).toMatch(/^\d{4}-/);
    expect(await MoveJournal.load(store, 'mv-2')).toBeUndefined();
  });

  it('gives a journal from before the busy-hosts cap the default cap, and keeps a chosen one', async () => {
    const store = new MemoryJsonStore();
    await MoveJournal.create(store, newRecord('mv-old'));
    const old = JSON.parse(store.docs.get(moveDocumentName('mv-old'))!);
    delete old.options.busyThrottle; // as an older agent wrote it
    store.docs.set(moveDocumentName('mv-old'), JSON.stringify(old));
    expect((await MoveJournal.load(store, 'mv-old'))?.record.options.busyThrottle).toBe(
      DEFAULT_BUSY_THROTTLE,
    );
    await MoveJournal.create(store, {
      ...newRecord('mv-off'),
      options: { ...newRecord().options, busyThrottle: null },
    });
    expect((await MoveJournal.load(store, 'mv-off'))?.record.options.busyThrottle).toBeNull();
  });

  it('refuses a duplicate id, a bad id and a damaged record with clear errors', async () => {
    const store = new MemoryJsonStore();
    await MoveJournal.create(store, newRecord());
    await expect(MoveJournal.create(store, newRecord())).rejects.toMatchObject({
      code: 'ERR_ALREADY_EXISTS',
    });
    expect(() => moveDocumentName('../etc/passwd')).toThrow(FerryError);
    store.docs.set(moveDocumentName('mv-bad'), JSON.stringify({ version: 1, id: 'mv-bad', checkpoint: {} }));
    await expect(MoveJournal.load(store, 'mv-bad')).rejects.toThrow(/damaged/);
  });

  it('keeps writes in order so a slow checkpoint never overwrites a newer one', async () => {
    const store = new MemoryJsonStore();
    const journal = await MoveJournal.create(store, newRecord());
    const base = journal.record.checkpoint;
    await Promise.all([1, 2, 3].map((n) => journal.saveCheckpoint({ ...base, cursor: n * MiB })));
    expect((await MoveJournal.load(store, 'mv-1'))?.record.checkpoint.cursor).toBe(3 * MiB);
  });

  it('drives a real engine: its checkpoints land in the record', async () => {
    const store = new MemoryJsonStore();
    const size = 4 * MiB;
    const journal = await MoveJournal.create(store, {
      ...newRecord(),
      checkpoint: initialCheckpoint(size, 64 * 1024),
    });
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 91));
    const target = new TestMemoryBackend(size);
    const { engine } = makeEngine({ source, target, persist: (c) => journal.saveCheckpoint(c) });
    expect((await engine.start()).phase).toBe('done');
    const record = (await MoveJournal.load(store, 'mv-1'))!.record;
    expect(record.checkpoint.phase).toBe('done');
    expect(record.checkpoint.cursor).toBe(size);
    expect(record.checkpoint.cutoverPauseMs).not.toBeNull();
  });
});

describe('move: state store failure', () => {
  it('fails the move with a clear error while host writes go on', async () => {
    const store = new MemoryJsonStore();
    const size = 8 * MiB;
    const source = new TestMemoryBackend(size, {}, patternBuffer(size, 92));
    const { engine, router } = makeEngine({
      source,
      target: new TestMemoryBackend(size),
      throttle: 4 * MiB,
      persist: (c) => store.write('move-x', c),
    });
    const writer = randomWriter(router, size, 929);
    const run = engine.start();
    await new Promise((r) => setTimeout(r, 300));
    store.failWrites = true;
    const outcome = await run;
    expect(outcome.phase).toBe('failed');
    expect(outcome.error).toMatch(/checkpoint could not be written/);
    expect(await writer.stop()).toBeGreaterThan(5); // no host write failed
    expect(router.epoch).toBe(1);
  });
});
