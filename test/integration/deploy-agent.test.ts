// Deploying the real agent to an "appliance" (a real sshd on 127.0.0.11, its own agent dir): upload by
// hash (a second deploy skips), detached start that survives the SSH connection, the control socket
// answering through the stream-local forward, an upgrade that replaces the old agent, and an upgrade
// refused while the agent reports a move in progress.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRemoteAgent } from '../../main/core/agent-link/index.js';
import {
  agentPaths,
  createSshAgentOpener,
  type DeployResult,
  deployAgent,
  deployToAppliance,
  findRunningAgent,
  stopAgent,
} from '../../main/core/deploy/index.js';
import { connectAppliance, SshConnection } from '../../main/core/ssh/index.js';
import { openStore } from '../../main/core/store/index.js';
import { agentInfo } from '../../shared/rpc/info.js';
import { copyAgentBundle, REPO_ROOT } from '../helpers/agent-bundle.js';
import { type SshdFixture, startSshd } from '../helpers/sshd-fixture.js';

let sshd: SshdFixture;
let bundle: string;
let agentDir: string;
const pids = new Set<number>();

const connect = () =>
  SshConnection.connect({
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    auth: { kind: 'key', identityFile: sshd.userKeyPath },
    hostKey: { acceptHostKey: sshd.hostKeyFingerprint() },
  });

async function withSsh<T>(fn: (ssh: SshConnection) => Promise<T>): Promise<T> {
  const ssh = await connect();
  try {
    return await fn(ssh);
  } finally {
    await ssh.close();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  sshd = await startSshd({ host: '127.0.0.11' });
  mkdirSync(join(sshd.dir, 'local'));
  bundle = copyAgentBundle(join(sshd.dir, 'local'));
  agentDir = join(sshd.dir, 'agent-a');
});

afterAll(async () => {
  // The agents are detached from sshd: stop every one this test started, whatever happened.
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await sshd?.stop();
});

describe('agent deployment', () => {
  let first: DeployResult;

  it('uploads the bundle by hash and starts the agent detached', async () => {
    const steps: string[] = [];
    first = await withSsh((ssh) =>
      deployAgent(ssh, {
        agentDir,
        nbdListen: '127.0.0.11:0',
        bundlePath: bundle,
        onStep: (s) => steps.push(s),
      }),
    );
    pids.add(first.pid);
    expect(first).toMatchObject({ bundleUploaded: true, started: true, machine: 'x86_64' });
    expect(first.runtime).toMatchObject({ kind: 'system', uploaded: false });
    expect(steps).toEqual(['probe', 'upload-bundle', 'runtime', 'check-running', 'start', 'ready']);
    expect(first.remoteBundlePath).toBe(join(agentDir, first.sha256, 'ferry-agent.mjs'));
    expect(readFileSync(first.remoteBundlePath)).toEqual(readFileSync(bundle));
    expect(first.nbd.host).toBe('127.0.0.11');
    expect(first.nbd.port).toBeGreaterThan(0);
  });

  it('keeps running after the SSH connection closed, and answers through the forward', async () => {
    // withSsh closed the deploy's connection; the agent must still be there.
    expect(alive(first.pid)).toBe(true);
    await withSsh(async (ssh) => {
      const running = await findRunningAgent(ssh, agentPaths(agentDir));
      expect(running).toMatchObject({ pid: first.pid, sha256: first.sha256 });
      const link = await connectRemoteAgent(ssh, first.controlSocket);
      const info = await link.call(agentInfo);
      link.close();
      expect(info).toMatchObject({
        pid: first.pid,
        control: first.controlSocket,
        stateDir: join(agentDir, 'state'),
      });
    });
  });

  it('skips the upload and the start when the same bundle runs', async () => {
    const again = await withSsh((ssh) =>
      deployAgent(ssh, { agentDir, nbdListen: '127.0.0.11:0', bundlePath: bundle }),
    );
    expect(again).toMatchObject({
      bundleUploaded: false,
      started: false,
      pid: first.pid,
      sha256: first.sha256,
    });
  });

  it('upgrades an outdated agent: SIGTERM to the old one, then the new one starts', async () => {
    const v2 = join(sshd.dir, 'local', 'v2', 'ferry-agent.mjs');
    mkdirSync(join(sshd.dir, 'local', 'v2'));
    copyFileSync(bundle, v2);
    appendFileSync(v2, '\n// v2\n');
    const upgraded = await withSsh((ssh) =>
      deployAgent(ssh, { agentDir, nbdListen: '127.0.0.11:0', bundlePath: v2 }),
    );
    pids.add(upgraded.pid);
    expect(upgraded).toMatchObject({
      bundleUploaded: true,
      started: true,
      replaced: first.sha256,
      pruned: [first.sha256],
    });
    // The old version's bundle is gone from the appliance; the new one, the state and the log stay.
    expect(existsSync(join(agentDir, first.sha256))).toBe(false);
    expect(existsSync(join(agentDir, upgraded.sha256, 'ferry-agent.mjs'))).toBe(true);
    expect(existsSync(join(agentDir, 'agent.log'))).toBe(true);
    expect(existsSync(join(agentDir, 'state'))).toBe(true);
    expect(upgraded.sha256).not.toBe(first.sha256);
    expect(upgraded.pid).not.toBe(first.pid);
    expect(alive(first.pid)).toBe(false);
    // The old agent stopped cleanly (its log says so).
    expect(readFileSync(join(agentDir, 'agent.log'), 'utf8')).toMatch(/SIGTERM: stopping[\s\S]*stopped/);
    await withSsh(async (ssh) => {
      expect(await stopAgent(ssh, agentPaths(agentDir))).toBe(true);
      expect(await stopAgent(ssh, agentPaths(agentDir))).toBe(false);
    });
    expect(alive(upgraded.pid)).toBe(false);
  });

  it('refuses to upgrade an agent that reports a move in progress', async () => {
    const movingDir = join(sshd.dir, 'agent-moving');
    const standIn = join(sshd.dir, 'local', 'moving', 'ferry-agent.mjs');
    mkdirSync(join(sshd.dir, 'local', 'moving'));
    copyFileSync(join(REPO_ROOT, 'test', 'helpers', 'stand-in-moving-agent.mjs'), standIn);
    const moving = await withSsh((ssh) =>
      deployAgent(ssh, { agentDir: movingDir, nbdListen: '127.0.0.11:0', bundlePath: standIn }),
    );
    pids.add(moving.pid);
    expect(moving.version).toBe('stand-in');
    const refused = await withSsh((ssh) =>
      deployAgent(ssh, { agentDir: movingDir, nbdListen: '127.0.0.11:0', bundlePath: bundle }),
    ).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERR_VOLUME_BUSY',
      message: expect.stringMatching(/move-1: copying/),
    });
    expect(alive(moving.pid)).toBe(true);
  });

  it('reports an agent that cannot start with the end of its log', async () => {
    const broken = join(sshd.dir, 'local', 'broken', 'ferry-agent.mjs');
    mkdirSync(join(sshd.dir, 'local', 'broken'));
    copyFileSync(bundle, broken);
    const err = await withSsh((ssh) =>
      // An NBD address the agent cannot bind: it exits during startup.
      deployAgent(ssh, {
        agentDir: join(sshd.dir, 'agent-b'),
        nbdListen: '192.0.2.1:10809',
        bundlePath: broken,
      }),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_IO',
      message: expect.stringMatching(/exited while starting[\s\S]*\S/),
    });
  });

  it('deploys to an appliance of the store and records it', async () => {
    const store = openStore({ path: ':memory:', actor: 'test' });
    try {
      store.appliances.add({
        name: 'alpha',
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        auth: { kind: 'key', identityFile: sshd.userKeyPath },
        agentDir: join(sshd.dir, 'agent-c'),
        nbdListen: '127.0.0.11:0',
      });
      const ssh = await connectAppliance(store, 'alpha', { acceptHostKey: sshd.hostKeyFingerprint() });
      try {
        const result = await deployToAppliance(store, ssh, 'alpha', { bundlePath: bundle });
        pids.add(result.pid);
        expect(store.appliances.require('alpha')).toMatchObject({
          status: 'online',
          agentVersion: result.version,
        });
        expect(store.audit.list({ subject: 'alpha', actionPrefix: 'agent.' })[0].details).toMatchObject({
          sha256: result.sha256,
          started: true,
          runtime: 'system',
        });
        await stopAgent(ssh, agentPaths(join(sshd.dir, 'agent-c')));
      } finally {
        await ssh.close();
      }
    } finally {
      store.close();
    }
  });

  it('opens the agent link of a store appliance, deploying only when the agent does not answer', async () => {
    const store = openStore({ path: ':memory:', actor: 'test' });
    const opener = createSshAgentOpener(store, {
      connect: () => ({ acceptHostKey: sshd.hostKeyFingerprint() }),
      deployOptions: { bundlePath: bundle },
    });
    try {
      const agentDir = join(sshd.dir, 'agent-d');
      const appliance = store.appliances.add({
        name: 'delta',
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        auth: { kind: 'key', identityFile: sshd.userKeyPath },
        agentDir,
        nbdListen: '127.0.0.11:0',
      });
      const first = await opener.open(appliance);
      const info = await first.call(agentInfo);
      pids.add(info.pid);
      first.close();
      expect(store.audit.list({ subject: 'delta', actionPrefix: 'agent.deploy' })).toHaveLength(1);
      const second = await opener.open(store.appliances.require('delta'));
      expect((await second.call(agentInfo)).pid).toBe(info.pid);
      second.close();
      // Same SSH connection both times, and no second deploy.
      expect(await opener.connection(appliance)).toBe(await opener.connection(appliance));
      expect(store.audit.list({ subject: 'delta', actionPrefix: 'agent.deploy' })).toHaveLength(1);
      await stopAgent(await opener.connection(appliance), agentPaths(agentDir));
    } finally {
      await opener.closeAll();
      store.close();
    }
  });
});
