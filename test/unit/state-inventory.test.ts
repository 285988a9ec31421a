// Inventory: a transaction is all or nothing, durable when it returns, and transactions run one
// at a time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Inventory } from '../../agent/state/inventory.js';
import { StateStore } from '../../agent/state/state-store.js';

let dir: string;
let store: StateStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-inv-'));
  store = await StateStore.open(dir);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const pool = { kind: 'dir' as const, name: 'p1', path: '/srv/p1', createdAt: 'now' };

describe('Inventory', () => {
  it('persists a committed transaction and discards a failed one', async () => {
    const inv = await Inventory.load(store);
    await inv.transaction((draft) => {
      draft.pools.push(pool);
    });
    await expect(
      inv.transaction((draft) => {
        draft.pools = [];
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(inv.snapshot().pools).toHaveLength(1);
    const reloaded = await Inventory.load(store);
    expect(reloaded.snapshot().pools).toEqual([pool]);
  });

  it('runs transactions one at a time', async () => {
    const inv = await Inventory.load(store);
    const order: string[] = [];
    const slow = inv.transaction(async () => {
      order.push('a start');
      await new Promise((r) => setTimeout(r, 30));
      order.push('a end');
    });
    const fast = inv.transaction(() => {
      order.push('b');
    });
    await Promise.all([slow, fast]);
    expect(order).toEqual(['a start', 'a end', 'b']);
  });

  it('refuses to commit a record that breaks the schema', async () => {
    const inv = await Inventory.load(store);
    await expect(
      inv.transaction((draft) => {
        draft.volumes.push({
          name: 'v',
          uuid: 'u',
          size: 1,
          epoch: 0,
          mapping: { kind: 'local', pool: 'p', lv: 'l' },
          createdAt: '',
        });
      }),
    ).rejects.toThrow();
    expect(inv.snapshot().volumes).toEqual([]);
  });
});
