// VolumeAccess over a real state store and inventory in a temp dir: defaults, stored rules, a
// damaged record (fails closed), rule changes and whom they disconnect, PSK identities and keys.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ConnectionControl, VolumeAccess } from '../../agent/access/volume-access.js';
import { createLogger } from '../../agent/log.js';
import { Inventory } from '../../agent/state/inventory.js';
import { StateStore } from '../../agent/state/state-store.js';

let dir: string;
let store: StateStore;
let inventory: Inventory;
let lines: string[];
let events: Array<Record<string, unknown>>;

/** Stands in for the NBD server's connection table: which connections exist, which got closed. */
class Connections implements ConnectionControl {
  closed: number[] = [];
  constructor(
    readonly live: Array<{
      id: number;
      address: string;
      port: number;
      exportName?: string;
      tlsIdentity?: string;
    }>,
  ) {}
  connections() {
    return this.live.filter((c) => !this.closed.includes(c.id));
  }
  async disconnectWhere(
    pred: (c: { exportName?: string; address: string; tlsIdentity?: string }) => boolean,
  ) {
    for (const c of this.connections()) if (pred(c)) this.closed.push(c.id);
  }
}

async function addVolume(name: string, access?: Record<string, unknown>): Promise<void> {
  await inventory.transaction((draft) => {
    draft.volumes.push({
      name,
      uuid: `uuid-${name}`,
      size: 1024,
      epoch: 1,
      mapping: { kind: 'local', pool: 'p', lv: name },
      createdAt: new Date().toISOString(),
      ...(access ? { access } : {}),
    });
  });
}

async function service(defaults = {}): Promise<VolumeAccess> {
  return VolumeAccess.load({
    inventory,
    store,
    defaults,
    log: createLogger('test', (line) => lines.push(line)),
    events: { publish: (e) => events.push(e) },
  });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-access-'));
  store = await StateStore.open(join(dir, 'state'));
  inventory = await Inventory.load(store);
  lines = [];
  events = [];
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('VolumeAccess', () => {
  it('gives a volume without stored rules the agent defaults', async () => {
    await addVolume('old');
    const access = await service({ hostsAllow: ['10.0.0.0/8'], hostTls: 'allow' });
    expect(access.policyOf('old')).toMatchObject({ allow: ['10.0.0.0/8'], hostTls: 'allow', denyAll: false });
    expect(access.initialPolicy().allow).toEqual(['10.0.0.0/8']);
    expect(() => access.policyOf('nope')).toThrow('volume nope does not exist');
  });

  it('fails closed on damaged stored rules, with a log line', async () => {
    await addVolume('bad', { allow: 'everyone' });
    const access = await service();
    expect(access.policyOf('bad').denyAll).toBe(true);
    expect(lines.some((l) => l.includes('volume bad: stored access rules are invalid'))).toBe(true);
  });

  it('logs each refusal with client and volume, and hides the volume from LIST', async () => {
    await addVolume('v', {
      allow: ['127.0.0.1/32'],
      denyAll: false,
      readOnly: false,
      hostTls: 'off',
      pskIdentities: [],
    });
    const access = await service();
    const stranger = { address: '127.0.0.2', port: 5555, id: 9 };
    expect(access.check('v', stranger).allowed).toBe(false);
    expect(lines.at(-1)).toContain(
      "refused client 127.0.0.2:5555 (connection 9) for volume v: 127.0.0.2 is not in the volume's allow list (127.0.0.1/32)",
    );
    expect(access.visible('v', stranger)).toBe(false);
    expect(access.visible('v', { address: '127.0.0.1', port: 1, id: 1 })).toBe(true);
  });

  it('changes rules durably and closes only the connections they refuse', async () => {
    await addVolume('v');
    await addVolume('w');
    const access = await service();
    const conns = new Connections([
      { id: 1, address: '127.0.0.1', port: 1001, exportName: 'v' },
      { id: 2, address: '::ffff:127.0.0.2', port: 1002, exportName: 'v' },
      { id: 3, address: '127.0.0.2', port: 1003, exportName: 'w' },
      { id: 4, address: '127.0.0.2', port: 1004 }, // still negotiating: checked when it opens
    ]);
    access.attachServer(conns);
    const result = await access.update('v', { allow: ['127.0.0.1'] });
    expect(result.policy.allow).toEqual(['127.0.0.1/32']);
    expect(result.disconnected).toEqual(['::ffff:127.0.0.2:1002 (connection 2)']);
    expect(conns.closed).toEqual([2]);
    expect(inventory.snapshot().volumes.find((v) => v.name === 'v')?.access).toMatchObject({
      allow: ['127.0.0.1/32'],
    });
    expect(events.at(-1)).toMatchObject({
      type: 'volume.access-changed',
      volume: 'v',
      disconnected: result.disconnected,
    });

    // Widening or unrelated changes close nobody; narrowing to read-only closes the writers.
    expect((await access.update('v', { allow: ['127.0.0.0/8'] })).disconnected).toEqual([]);
    expect((await access.update('v', { hostTls: 'allow' })).disconnected).toEqual([]);
    expect((await access.update('v', { readOnly: true })).disconnected).toEqual([
      '127.0.0.1:1001 (connection 1)',
    ]);
    expect((await access.update('v', { readOnly: true })).disconnected).toEqual([]);
    await expect(access.update('v', { allow: ['10.0.0.1'], denyAll: true })).rejects.toThrow('not both');
    await expect(access.update('v', { allow: ['10.0.0.1/8'] })).rejects.toThrow('did you mean 10.0.0.0/8');
  });

  it('makes a PSK key once, shares it across volumes, and deletes it with its last volume', async () => {
    await addVolume('v');
    await addVolume('w');
    const access = await service();
    const first = await access.addPsk('v', 'host1');
    expect(first.key).toMatch(/^[0-9a-f]{64}$/);
    expect(access.pskKey('host1')?.toString('hex')).toBe(first.key);
    await expect(access.addPsk('v', 'host1')).rejects.toThrow('already opens volume v');
    expect((await access.addPsk('w', 'host1')).key).toBeUndefined();
    await expect(access.addPsk('w', 'bad id')).rejects.toThrow('invalid PSK identity');

    // A restarted agent reads the key back.
    const again = await service();
    expect(again.pskKey('host1')?.toString('hex')).toBe(first.key);
    expect(again.listPsks()).toEqual([
      { volume: 'v', identity: 'host1' },
      { volume: 'w', identity: 'host1' },
    ]);

    const conns = new Connections([
      { id: 1, address: '127.0.0.1', port: 1, exportName: 'v', tlsIdentity: 'host1' },
      { id: 2, address: '127.0.0.1', port: 2, exportName: 'w', tlsIdentity: 'host1' },
    ]);
    again.attachServer(conns);
    await again.removePsk('v', 'host1');
    expect(conns.closed).toEqual([1]);
    expect(again.pskKey('host1')).toBeDefined();
    await again.removePsk('w', 'host1');
    expect(again.pskKey('host1')).toBeUndefined();
    expect(readdirSync(join(dir, 'state', 'secrets')).filter((f) => f.startsWith('hostpsk.'))).toEqual([]);
    await expect(again.removePsk('w', 'host1')).rejects.toThrow('volume w has no PSK identity host1');
  });

  it('answers tlsRequired from the agent-wide default', async () => {
    expect((await service({ hostTls: 'require' })).tlsRequired()).toBe(true);
    expect((await service({ hostTls: 'allow' })).tlsRequired()).toBe(false);
  });
});
