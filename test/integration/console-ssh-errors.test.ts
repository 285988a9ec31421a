// What goes wrong with SSH appliances, against a real sshd on 127.0.0.11: a wrong key, a wrong user,
// no way to log in, an encrypted key without a terminal (all ERR_AUTH, nothing left in the store);
// secrets and host key trust through the core's callbacks; a dropped SSH connection whose agent link
// is reopened over the re-dialled connection; a changed host key refused with both fingerprints and
// accepted again on purpose; remove refused while a volume moves.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleCore } from '../../main/core/console/console-core.js';
import { openStore } from '../../main/core/store/index.js';
import { agentInfo } from '../../shared/rpc/info.js';
import { copyAgentBundle } from '../helpers/agent-bundle.js';
import {
  buildBundles,
  type CliResult,
  ferry,
  parseJson,
  type SshAppliance,
  startSshAppliance,
  teardownAppliance,
  tempStore,
} from './console-ssh-harness.js';

interface ErrorOut {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

let gamma: SshAppliance;
let store: ReturnType<typeof tempStore>;
let core: ConsoleCore;
const passphraseAsked: string[] = [];
const cli = (args: string[]) => ferry(store.storePath, args);

function expectError(result: CliResult, exit: number, code: string, message: RegExp): void {
  expect(result.code, result.stderr).toBe(exit);
  const { error } = parseJson<ErrorOut>(result);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
}

beforeAll(async () => {
  await buildBundles();
  store = tempStore();
  gamma = await startSshAppliance('gamma', '127.0.0.11');
  mkdirSync(join(store.dir, 'bundle'));
  core = new ConsoleCore({
    store: openStore({ path: store.storePath, actor: 'test' }),
    labDir: join(store.dir, 'lab'),
    deployOptions: { bundlePath: copyAgentBundle(join(store.dir, 'bundle')) },
    secrets: {
      passphrase: async ({ identityFile }) => {
        passphraseAsked.push(identityFile);
        return gamma.sshd.passphrase;
      },
    },
    ssh: { reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } },
  });
}, 120_000);

afterAll(async () => {
  await core?.close();
  core?.store.close();
  await teardownAppliance(gamma);
  store?.cleanup();
});

describe('SSH login failures are clear and leave nothing behind', () => {
  it('a key the appliance does not authorise: ERR_AUTH', async () => {
    const args = gamma.addArgs(['--accept-host-key', gamma.sshd.hostKeyFingerprint(), '--json']);
    args[args.indexOf('--identity') + 1] = gamma.sshd.otherKeyPath;
    expectError(
      await cli(args),
      10,
      'ERR_AUTH',
      /authentication failed for .*@127\.0\.0\.11.*authorized_keys/,
    );
  });

  it('a user the appliance does not let in: ERR_AUTH naming the user', async () => {
    const args = gamma.addArgs(['--accept-host-key', gamma.sshd.hostKeyFingerprint(), '--json']);
    args[args.indexOf('--user') + 1] = 'nobody';
    expectError(await cli(args), 10, 'ERR_AUTH', /authentication failed for nobody@127\.0\.0\.11/);
  });

  it('no key, no ssh-agent and no terminal: says which ways there are', async () => {
    const args = gamma.addArgs(['--json']);
    args.splice(args.indexOf('--identity'), 2);
    expectError(await cli(args), 10, 'ERR_AUTH', /no way to log in.*--identity FILE.*ssh-agent.*terminal/);
  });

  it('an encrypted key without a terminal to ask its passphrase', async () => {
    const args = gamma.addArgs(['--accept-host-key', gamma.sshd.hostKeyFingerprint(), '--json']);
    args[args.indexOf('--identity') + 1] = gamma.sshd.passphraseKeyPath;
    expectError(await cli(args), 10, 'ERR_AUTH', /encrypted.*passphrase/);
  });

  it('kept no appliance row from the failed adds', async () => {
    expect(parseJson<unknown[]>(await cli(['appliance', 'list', '--json']))).toEqual([]);
    expect(core.store.appliances.list()).toEqual([]);
  });
});

describe('an appliance added through the core', () => {
  it('reads the host key before anything is trusted', async () => {
    const key = await core.appliances.scanHostKey(gamma.sshd.host, gamma.sshd.port);
    expect(key).toEqual({
      host: '127.0.0.11',
      port: gamma.sshd.port,
      keyType: 'ssh-ed25519',
      fingerprint: gamma.sshd.hostKeyFingerprint(),
      knownAs: null,
    });
  });

  it('a wrong passphrase from the callback: ERR_AUTH, and no appliance left', async () => {
    await expect(
      core.appliances.add({
        name: 'gamma',
        host: gamma.sshd.host,
        port: gamma.sshd.port,
        user: gamma.sshd.user,
        auth: { kind: 'key', identityFile: gamma.sshd.passphraseKeyPath, passphrase: async () => 'wrong' },
        acceptHostKey: gamma.sshd.hostKeyFingerprint(),
        agentDir: gamma.agentDir,
        nbdListen: gamma.nbdListen,
      }),
    ).rejects.toMatchObject({ code: 'ERR_AUTH', message: expect.stringMatching(/wrong passphrase/) });
    expect(core.store.appliances.list()).toEqual([]);
  });

  it('asks the passphrase and the host key through callbacks, once, and stores neither secret', async () => {
    const confirmed: string[] = [];
    const added = await core.appliances.add({
      name: 'gamma',
      host: gamma.sshd.host,
      port: gamma.sshd.port,
      user: gamma.sshd.user,
      auth: { kind: 'key', identityFile: gamma.sshd.passphraseKeyPath },
      confirmHostKey: async (key) => {
        confirmed.push(key.fingerprint);
        return true;
      },
      agentDir: gamma.agentDir,
      nbdListen: gamma.nbdListen,
    });
    expect(confirmed).toEqual([gamma.sshd.hostKeyFingerprint()]);
    expect(passphraseAsked).toEqual([gamma.sshd.passphraseKeyPath]);
    expect(added).toMatchObject({
      name: 'gamma',
      status: 'online',
      hostKey: gamma.sshd.hostKeyFingerprint(),
    });
    const row = core.store.db.prepare("SELECT auth_json FROM appliances WHERE name = 'gamma'").get() as {
      auth_json: string;
    };
    expect(JSON.parse(row.auth_json)).toEqual({ kind: 'key', identityFile: gamma.sshd.passphraseKeyPath });
    expect(JSON.stringify(core.store.audit.list({}))).not.toContain(gamma.sshd.passphrase);
    expect((await core.appliances.scanHostKey(gamma.sshd.host, gamma.sshd.port)).knownAs).toBe('gamma');
  });

  it('reopens the agent link over the re-dialled connection when the SSH session drops', async () => {
    const first = await core.links.get('gamma');
    const pid = (await first.call(agentInfo)).pid;
    const closed = new Promise<void>((resolve) => first.onClose(() => resolve()));
    gamma.sshd.dropSessions();
    await closed;
    const second = await core.links.get('gamma');
    expect(second).not.toBe(first);
    expect((await second.call(agentInfo)).pid).toBe(pid);
    // Reconnected, not redeployed; and the passphrase typed once was kept in memory for the re-dial.
    expect(core.store.audit.list({ subject: 'gamma', actionPrefix: 'agent.deploy' })).toHaveLength(1);
    expect(passphraseAsked).toHaveLength(1);
  });

  it('refuses a changed host key with both fingerprints, until the new one is accepted on purpose', async () => {
    // The CLI runs without a terminal, so it could not ask this key's passphrase: use the plain key.
    core.store.appliances.update('gamma', { auth: { kind: 'key', identityFile: gamma.sshd.userKeyPath } });
    const old = gamma.sshd.hostKeyFingerprint();
    // A reinstalled appliance: open sessions end (sshd would keep them), a new host key.
    gamma.sshd.dropSessions();
    await gamma.sshd.restart({ newHostKey: true });
    const fresh = gamma.sshd.hostKeyFingerprint();
    expect(fresh).not.toBe(old);

    const refused = await cli(['appliance', 'check', 'gamma', '--json']);
    expect(refused.code).toBe(11);
    const check = parseJson<{ reachable: boolean; error: { code: string; message: string } }>({
      ...refused,
      code: 0,
    });
    expect(check.reachable).toBe(false);
    expect(check.error.code).toBe('ERR_HOST_KEY');
    expect(check.error.message).toContain(old);
    expect(check.error.message).toContain(fresh);

    // The core's own connection (its session dropped with the restart) re-dials into the same refusal.
    const viaCore = await core.appliances.check('gamma');
    expect(viaCore.error?.code).toBe('ERR_HOST_KEY');

    const human = await cli(['appliance', 'check', 'gamma']);
    expect(human.code).toBe(11);
    expect(human.stdout).toContain(`ferry appliance check gamma --accept-new-host-key ${fresh}`);

    const wrong = await cli(['appliance', 'check', 'gamma', '--accept-new-host-key', old, '--json']);
    expect(wrong.code).toBe(11);
    const accepted = await cli(['appliance', 'check', 'gamma', '--accept-new-host-key', fresh, '--json']);
    expect(accepted.code, accepted.stdout).toBe(0);
    expect(parseJson<{ agentRunning: boolean }>(accepted).agentRunning).toBe(true);
    expect(core.store.appliances.require('gamma').hostKey?.fingerprint).toBe(fresh);
  });

  it('refuses to remove an appliance while one of its volumes moves', async () => {
    const move = core.store.moves.create({
      vvUuid: '00000000-0000-4000-8000-000000000001',
      from: { appliance: 'gamma', pool: 'pool', lv: 'v' },
      to: { appliance: 'elsewhere', pool: 'pool', lv: 'v' },
    });
    await expect(core.appliances.remove('gamma')).rejects.toMatchObject({
      code: 'ERR_VOLUME_BUSY',
      message: expect.stringContaining(move.id),
    });
    const refused = await cli(['appliance', 'remove', 'gamma', '--json']);
    expect(refused.code).toBe(6);
    core.store.moves.fail(move.id, { code: 'ERR_INTERNAL', message: 'test move' });
    const removed = await core.appliances.remove('gamma');
    expect(removed).toMatchObject({ ok: true, appliance: 'gamma' });
    expect(core.store.appliances.list()).toEqual([]);
  });
});
