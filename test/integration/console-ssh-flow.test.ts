// The whole SSH flow through the `ferry` CLI, against two real sshd "appliances" (127.0.0.11 and
// 127.0.0.12): add both (refused until the host key is accepted; one on the bundled runtime), add a
// pool on each, create a volume, write it with qemu-io over NBD, move it agent to agent, and check
// the bytes, the inventory and the mapping history.
import { execFileSync } from 'node:child_process';
import { readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/agent-bundle.js';
import {
  agentPid,
  buildBundles,
  ferry,
  parseJson,
  qemuIo,
  type SshAppliance,
  startFerry,
  startSshAppliance,
  teardownAppliance,
  tempStore,
} from './console-ssh-harness.js';

const ARCH = process.arch === 'arm64' ? 'arm64' : 'x64';
let alpha: SshAppliance;
let beta: SshAppliance;
let store: ReturnType<typeof tempStore>;
const cli = (args: string[]) => ferry(store.storePath, args);

interface ErrorOut {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

beforeAll(async () => {
  await buildBundles();
  execFileSync(process.execPath, [join(REPO_ROOT, 'build', 'fetch-agent-runtime.mjs'), ARCH], {
    stdio: 'ignore',
  });
  store = tempStore();
  alpha = await startSshAppliance('alpha', '127.0.0.11');
  beta = await startSshAppliance('beta', '127.0.0.12');
}, 300_000);

afterAll(async () => {
  await teardownAppliance(alpha);
  await teardownAppliance(beta);
  store?.cleanup();
});

describe('ferry appliance + move over SSH', () => {
  it('refuses a first host key until it is accepted, and leaves nothing half-added', async () => {
    const refused = await cli([...alpha.addArgs(), '--json']);
    expect(refused.code).toBe(11);
    const { error } = parseJson<ErrorOut>(refused);
    const fingerprint = alpha.sshd.hostKeyFingerprint();
    expect(error.code).toBe('ERR_HOST_KEY');
    expect(error.details?.fingerprint).toBe(fingerprint);
    expect(error.details?.acceptCommand).toContain(`--accept-host-key ${fingerprint}`);

    // Without --json: the fingerprint and the exact command line on the terminal.
    const human = await cli(beta.addArgs());
    expect(human.code).toBe(11);
    expect(human.stderr).toContain(beta.sshd.hostKeyFingerprint());
    expect(human.stderr).toMatch(
      /accept it with:\n {2}ferry appliance add beta --host 127\.0\.0\.12 .*--accept-host-key SHA256:/,
    );

    // Another key than the one presented is refused too.
    const wrong = await cli([
      ...alpha.addArgs(),
      '--accept-host-key',
      beta.sshd.hostKeyFingerprint(),
      '--json',
    ]);
    expect(wrong.code).toBe(11);
    expect(parseJson<ErrorOut>(wrong).error.message).toContain(fingerprint);

    const list = parseJson<unknown[]>(await cli(['appliance', 'list', '--json']));
    expect(list).toEqual([]);
  });

  it('adds alpha on the system node once its key is accepted (the printed command works)', async () => {
    const refused = parseJson<ErrorOut>(await cli([...alpha.addArgs(), '--json']));
    const command = String(refused.error.details?.acceptCommand);
    const args = command.split(' ').slice(1); // as printed, minus "ferry"; no argument here needs quotes
    const storeAt = args.indexOf('--store');
    if (storeAt !== -1) args.splice(storeAt, 2);
    const added = await cli(args);
    expect(added.code, added.stderr).toBe(0);
    const a = parseJson<{
      name: string;
      hostKey: string;
      status: string;
      deployed: { runtime: { kind: string }; pid: number; nbd: { host: string; port: number } };
    }>(added);
    expect(a).toMatchObject({ name: 'alpha', hostKey: alpha.sshd.hostKeyFingerprint(), status: 'online' });
    expect(a.deployed.runtime.kind).toBe('system');
    expect(`${a.deployed.nbd.host}:${a.deployed.nbd.port}`).toBe(alpha.nbdListen);
    expect(agentPid(alpha.agentDir)).toBe(a.deployed.pid);
  });

  it('adds beta on the bundled runtime: its agent runs on the uploaded node', async () => {
    const added = await cli([
      ...beta.addArgs(['--runtime', 'bundled', '--accept-host-key', beta.sshd.hostKeyFingerprint()]),
      '--json',
    ]);
    expect(added.code, added.stderr).toBe(0);
    const b = parseJson<{ deployed: { runtime: { kind: string; path: string }; pid: number } }>(added);
    expect(b.deployed.runtime.kind).toBe('bundled');
    expect(b.deployed.runtime.path.startsWith(`${beta.agentDir}/runtime/`)).toBe(true);
    const exe = readlinkSync(`/proc/${b.deployed.pid}/exe`);
    expect(exe).toBe(b.deployed.runtime.path);
    expect(exe).not.toBe(realpathSync(process.execPath));
  });

  it('lists both appliances with their pinned keys, and checks them', async () => {
    const list = parseJson<Array<{ name: string; status: string; hostKey: string; runtime: string }>>(
      await cli(['appliance', 'list', '--json']),
    );
    expect(list.map((a) => [a.name, a.status, a.hostKey, a.runtime])).toEqual([
      ['alpha', 'online', alpha.sshd.hostKeyFingerprint(), 'auto'],
      ['beta', 'online', beta.sshd.hostKeyFingerprint(), 'bundled'],
    ]);
    const check = await cli(['appliance', 'check', 'beta', '--json']);
    expect(check.code, check.stderr).toBe(0);
    const c = parseJson<{
      reachable: boolean;
      agentRunning: boolean;
      agentVersion: string;
      latencyMs: number;
    }>(check);
    expect(c).toMatchObject({ reachable: true, agentRunning: true });
    expect(c.agentVersion).toMatch(/\S/);
    expect(c.latencyMs).toBeGreaterThanOrEqual(0);
    expect(c.latencyMs).toBeLessThan(5000);
  });

  it('creates a volume on alpha, writes it over NBD, moves it to beta and keeps every byte', async () => {
    for (const a of [alpha, beta]) {
      const pool = await cli(['pool', 'add', a.name, 'pool', '--dir', a.poolDir, '--json']);
      expect(pool.code, pool.stderr).toBe(0);
    }
    const created = await cli(['volume', 'create', 'vol', '--size', '64M', '--on', 'alpha/pool', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const url = `nbd://${alpha.nbdListen}/vol`;
    await qemuIo(url, ['write -P 0x11 0 1M', 'write -P 0x22 30M 3M', 'write -P 0x33 63M 1M']);

    const moved = await cli(['move', 'vol', '--to', 'beta/pool', '--json']);
    expect(moved.code, `${moved.stdout}\n${moved.stderr}`).toBe(0);

    // The host keeps its export on alpha; the data now lives on beta, byte for byte.
    await qemuIo(url, [
      'read -P 0x11 0 1M',
      'read -P 0x22 30M 3M',
      'read -P 0x33 63M 1M',
      'read -P 0 1M 29M',
    ]);
    const inventory = parseJson<{
      volumes: Array<{ name: string; appliance: string; pool: string; epoch: number }>;
    }>(await cli(['inventory', '--refresh', '--json']));
    expect(inventory.volumes.find((v) => v.name === 'vol')).toMatchObject({
      appliance: 'beta',
      pool: 'pool',
      epoch: 2,
    });
    const history = parseJson<{ epochs: Array<{ epoch: number; appliance: string }> }>(
      await cli(['history', 'vol', '--json']),
    );
    expect(history.epochs.map((e) => [e.epoch, e.appliance])).toEqual([
      [1, 'alpha'],
      [2, 'beta'],
    ]);
  });

  it('finishes a move whose console was killed mid-copy, from the agents, over SSH', async () => {
    const created = await cli(['volume', 'create', 'vol2', '--size', '64M', '--on', 'alpha/pool', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const url = `nbd://${alpha.nbdListen}/vol2`;
    await qemuIo(url, ['write -P 0x44 0 64M']);

    const moving = startFerry(store.storePath, [
      'move',
      'vol2',
      '--to',
      'beta/pool',
      '--throttle',
      '16M',
      '--json',
    ]);
    const id = await moving.firstProgress;
    moving.kill();
    await moving.exited;

    const moves = parseJson<Array<{ id: string; phase: string }>>(await cli(['moves', '--json']));
    expect(moves.find((m) => m.id === id)?.phase).toMatch(/copying|verifying|cutover|committing|done/);
    const followed = await cli(['move', 'status', id, '--follow', '--json']);
    expect(followed.code, `${followed.stdout}\n${followed.stderr}`).toBe(0);

    await qemuIo(url, ['read -P 0x44 0 64M']);
    const history = parseJson<{ epochs: Array<{ epoch: number; appliance: string }> }>(
      await cli(['history', 'vol2', '--json']),
    );
    expect(history.epochs.map((e) => [e.epoch, e.appliance])).toEqual([
      [1, 'alpha'],
      [2, 'beta'],
    ]);
  });

  it('removes beta, saying which volume still has its data there', async () => {
    const removed = await cli(['appliance', 'remove', 'beta', '--json']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(parseJson<{ volumesStoredOnIt: string[] }>(removed).volumesStoredOnIt).toEqual(['vol', 'vol2']);
    const list = parseJson<Array<{ name: string }>>(await cli(['appliance', 'list', '--json']));
    expect(list.map((a) => a.name)).toEqual(['alpha']);
  });
});
