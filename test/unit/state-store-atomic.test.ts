// StateStore: documents are replaced atomically, survive a reopen, are schema-checked on read;
// secrets are mode 0600; one agent per state dir; leftovers of an interrupted write are cleaned.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { StateStore } from '../../agent/state/state-store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-state-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('StateStore', () => {
  it('reads back what it wrote after a reopen, and lists documents by prefix', async () => {
    const store = await StateStore.open(dir);
    await store.write('moves.m-1', { cursor: 4096 });
    await store.write('moves.m-2', { cursor: 0 });
    await store.write('inventory', { version: 1 });
    await store.close();
    const again = await StateStore.open(dir);
    expect(await again.read('moves.m-1')).toEqual({ cursor: 4096 });
    expect(await again.list('moves.')).toEqual(['moves.m-1', 'moves.m-2']);
    expect(await again.read('absent')).toBeUndefined();
    await again.remove('moves.m-1');
    expect(await again.list('moves.')).toEqual(['moves.m-2']);
    await again.close();
  });

  it('keeps writes to one document in call order and leaves no temp files', async () => {
    const store = await StateStore.open(dir);
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.write('counter', { i })));
    expect(await store.read('counter')).toEqual({ i: 49 });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(statSync(join(dir, 'counter.json')).mode & 0o777).toBe(0o600);
    await store.close();
  });

  it('checks documents against a schema and names a corrupt file', async () => {
    const store = await StateStore.open(dir);
    await store.write('doc', { epoch: 'three' });
    await expect(store.read('doc', z.object({ epoch: z.number() }))).rejects.toMatchObject({
      code: 'ERR_IO',
    });
    writeFileSync(join(dir, 'broken.json'), '{"half');
    await expect(store.read('broken')).rejects.toThrow(/broken\.json is not valid JSON/);
    await store.close();
  });

  it('refuses document names that could escape the state dir', async () => {
    const store = await StateStore.open(dir);
    await expect(store.write('../evil', {})).rejects.toMatchObject({ code: 'ERR_INVALID_NAME' });
    await expect(store.read('a/b')).rejects.toMatchObject({ code: 'ERR_INVALID_NAME' });
    await store.close();
  });

  it('keeps secrets in files of mode 0600', async () => {
    const store = await StateStore.open(dir);
    await store.writeSecret('psk.vol1', Buffer.from('00112233', 'hex'));
    expect((await store.readSecret('psk.vol1'))?.toString('hex')).toBe('00112233');
    expect(statSync(join(dir, 'secrets', 'psk.vol1.key')).mode & 0o777).toBe(0o600);
    await store.removeSecret('psk.vol1');
    expect(await store.readSecret('psk.vol1')).toBeUndefined();
    await store.close();
  });

  it('allows one open store per dir, takes over a stale lock and removes temp leftovers', async () => {
    const store = await StateStore.open(dir);
    await expect(StateStore.open(dir)).rejects.toMatchObject({ code: 'ERR_ALREADY_EXISTS' });
    await store.close();
    writeFileSync(join(dir, 'agent.pid'), '999999999\n');
    writeFileSync(join(dir, 'inventory.json.tmp-1-1'), 'partial');
    const again = await StateStore.open(dir);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await again.close();
  });
});
