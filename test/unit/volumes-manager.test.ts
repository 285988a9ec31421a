// VolumeManager and PoolService on a real state dir and real sparse files: create/delete keep the
// inventory and the pool's files in step; a mapping change is durable with epoch + 1 and fenced;
// remote mappings fail clearly while no NBD client opener is given; space is checked up front.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileBackend } from '../../agent/backend/file-backend.js';
import { PoolService } from '../../agent/pools/pool-service.js';
import { EventBus } from '../../agent/rpc/event-bus.js';
import { Inventory } from '../../agent/state/inventory.js';
import { StateStore } from '../../agent/state/state-store.js';
import { ChainFactory } from '../../agent/volumes/chain-factory.js';
import { VolumeExportProvider } from '../../agent/volumes/volume-export-provider.js';
import { VolumeManager } from '../../agent/volumes/volume-manager.js';

const MiB = 1024 * 1024;
const silent = { info() {}, warn() {}, error() {}, child: () => silent };
const client = { address: '127.0.0.1', port: 1, id: 1 };

let dir: string;
let store: StateStore;
let events: EventBus;

async function build() {
  const inventory = await Inventory.load(store);
  const pools = new PoolService(inventory, events);
  const chains = new ChainFactory({ openLocal: openFileBackend, lookupLv: (p, l) => pools.lookupLv(p, l) });
  let provider: VolumeExportProvider | undefined;
  const volumes = new VolumeManager({
    inventory,
    pools,
    store,
    chains,
    events,
    log: silent,
    connectionCount: (name) => provider?.connectionCount(name) ?? 0,
  });
  provider = new VolumeExportProvider(volumes);
  await volumes.openAll();
  return { inventory, pools, volumes, provider };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-vm-'));
  store = await StateStore.open(join(dir, 'state'));
  events = new EventBus();
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('VolumeManager', () => {
  it('creates a vv with its LV, and a restarted manager serves the same vv', async () => {
    const a = await build();
    await a.pools.add({ kind: 'dir', name: 'p', path: join(dir, 'p'), capacity: 64 * MiB });
    const v = await a.volumes.create('v1', 8 * MiB, 'p');
    expect(v).toMatchObject({
      name: 'v1',
      size: 8 * MiB,
      epoch: 1,
      state: 'online',
      mapping: { kind: 'local', pool: 'p', lv: 'v1' },
    });
    expect(existsSync(join(dir, 'p', 'v1.img'))).toBe(true);
    await a.volumes.virtualVolume('v1').write(Buffer.alloc(4096, 9), 4096);
    await a.volumes.closeAll();

    const b = await build();
    expect(b.volumes.list()).toEqual([{ ...v, connections: 0 }]);
    const back = Buffer.alloc(4096);
    await b.volumes.virtualVolume('v1').read(back, 4096);
    expect(back.every((x) => x === 9)).toBe(true);
    await b.volumes.closeAll();
  });

  it('refuses a vv larger than the free space up front and leaves no file behind', async () => {
    const { pools, volumes } = await build();
    await pools.add({ kind: 'dir', name: 'p', path: join(dir, 'p'), capacity: 10 * MiB });
    await volumes.create('a', 6 * MiB, 'p');
    await expect(volumes.create('b', 6 * MiB, 'p')).rejects.toMatchObject({
      code: 'ERR_NO_SPACE',
      details: { pool: 'p', requested: 6 * MiB, free: 4 * MiB },
    });
    expect(existsSync(join(dir, 'p', 'b.img'))).toBe(false);
    expect((await pools.list())[0]).toMatchObject({ size: 10 * MiB, used: 6 * MiB, free: 4 * MiB });
    await volumes.closeAll();
  });

  it('commits a mapping change durably with epoch + 1 and refuses a stale epoch', async () => {
    const a = await build();
    await a.pools.add({ kind: 'dir', name: 'p', path: join(dir, 'p') });
    await a.volumes.create('v', MiB, 'p');
    await a.pools.createLv('p', 'target', MiB);
    const seen: unknown[] = [];
    events.subscribe((e) => seen.push(e));
    const updated = await a.volumes.withMappingLock('v', () =>
      a.volumes.commitMapping('v', { kind: 'local', pool: 'p', lv: 'target' }, { expectEpoch: 1 }),
    );
    expect(updated).toMatchObject({ epoch: 2, mapping: { lv: 'target' } });
    await expect(
      a.volumes.commitMapping('v', { kind: 'local', pool: 'p', lv: 'v' }, { expectEpoch: 1 }),
    ).rejects.toMatchObject({
      code: 'ERR_STALE_EPOCH',
      message: 'volume v is at epoch 2, the request expected epoch 1',
    });
    expect(seen).toEqual([
      expect.objectContaining({ type: 'volume.mapping-changed', volume: 'v', epoch: 2 }),
    ]);
    // The old LV is free now; the new one is mapped.
    expect((await a.pools.listLvs('p')).map((l) => [l.name, l.mappedBy])).toEqual([
      ['v', null],
      ['target', 'v'],
    ]);
    await expect(a.pools.deleteLv('p', 'target')).rejects.toMatchObject({ code: 'ERR_VOLUME_BUSY' });
    await a.volumes.closeAll();
    const b = await build();
    expect(b.volumes.record('v')).toMatchObject({ epoch: 2, mapping: { lv: 'target' } });
    await b.volumes.closeAll();
  });

  it('opens a remote mapping only through an injected opener, with a clear error otherwise', async () => {
    const { volumes } = await build();
    await expect(
      volumes.openChain(
        { kind: 'remote', url: 'nbds://127.0.0.1:1/x', pskIdentity: 'id' },
        { pskKey: Buffer.alloc(16) },
      ),
    ).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
  });

  it('counts NBD opens and refuses to delete an open vv unless forced', async () => {
    const { pools, volumes, provider } = await build();
    await pools.add({ kind: 'dir', name: 'p', path: join(dir, 'p') });
    await volumes.create('v', MiB, 'p');
    expect(provider.list(client).map((e) => e.name)).toEqual(['v']);
    const opened = provider.open('v', client);
    if ('kind' in opened) throw new Error(opened.message);
    expect(opened.backend).toBe(volumes.virtualVolume('v'));
    expect(volumes.get('v').connections).toBe(1);
    await expect(volumes.delete('v')).rejects.toMatchObject({ code: 'ERR_VOLUME_BUSY' });
    opened.release();
    opened.release();
    expect(volumes.get('v').connections).toBe(0);
    await volumes.delete('v', { expectEpoch: 1 });
    expect(existsSync(join(dir, 'p', 'v.img'))).toBe(false);
    expect(provider.open('v', client)).toMatchObject({ kind: 'unknown' });
    expect(provider.open('', client)).toMatchObject({
      kind: 'unknown',
      message: expect.stringMatching(/no default export/),
    });
  });
});

describe('VolumeManager concurrency', () => {
  it('never overcommits a pool when creates race', async () => {
    const { pools, volumes } = await build();
    await pools.add({ kind: 'dir', name: 'p', path: join(dir, 'p'), capacity: 10 * MiB });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => volumes.create(`v${i}`, 3 * MiB, 'p')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(
      results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code),
    ).toEqual(['ERR_NO_SPACE', 'ERR_NO_SPACE', 'ERR_NO_SPACE']);
    expect((await pools.list())[0]).toMatchObject({ used: 9 * MiB, free: MiB, lvCount: 3 });
    await volumes.closeAll();
  });
});

describe('VolumeManager with a missing LV', () => {
  it('starts anyway, reports the vv unavailable with the reason, and refuses NBD opens of it', async () => {
    const a = await build();
    await a.pools.add({ kind: 'dir', name: 'p', path: join(dir, 'p') });
    await a.volumes.create('gone', MiB, 'p');
    await a.volumes.create('fine', MiB, 'p');
    await a.volumes.closeAll();
    rmSync(join(dir, 'p', 'gone.img'));

    const b = await build();
    const byName = Object.fromEntries(b.volumes.list().map((v) => [v.name, v]));
    expect(byName.fine.state).toBe('online');
    expect(byName.gone).toMatchObject({
      state: 'unavailable',
      error: expect.stringMatching(/ENOENT|no such file/i),
    });
    expect(b.provider.open('gone', client)).toMatchObject({
      kind: 'unknown',
      message: expect.stringMatching(/unavailable/),
    });
    expect(() => b.volumes.virtualVolume('gone')).toThrow(/unavailable/);
    // It can still be deleted.
    await b.volumes.delete('gone');
    expect(b.volumes.names()).toEqual(['fine']);
    await b.volumes.closeAll();
  });
});
