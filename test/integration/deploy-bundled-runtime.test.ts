// `--runtime bundled` on an "appliance" (a real sshd on 127.0.0.12, its own agent dir): the Linux Node
// runtime Ferry ships is uploaded once into AGENT_DIR/runtime/<version>-<arch>/node and the agent runs
// on it (checked on the running process's /proc/PID/exe), not on the system's node. Also: the SFTP
// write-stream fallback, and the clear errors for an architecture or a runtime Ferry lacks.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUNDLED_RUNTIME_VERSION,
  chooseRuntime,
  type DeployResult,
  deployAgent,
  findLocalRuntime,
  runtimeArchFor,
  sha256File,
  uploadVerified,
} from '../../main/core/deploy/index.js';
import { SshConnection } from '../../main/core/ssh/index.js';
import { copyAgentBundle, REPO_ROOT } from '../helpers/agent-bundle.js';
import { type SshdFixture, startSshd } from '../helpers/sshd-fixture.js';

const ARCH = process.arch === 'arm64' ? 'arm64' : 'x64';
let sshd: SshdFixture;
let ssh: SshConnection;
let bundle: string;
let agentDir: string;
const pids = new Set<number>();

beforeAll(async () => {
  // The runtime comes from the npm registry (npm pack), once per checkout: dist/runtime/.
  execFileSync(process.execPath, [join(REPO_ROOT, 'build', 'fetch-agent-runtime.mjs'), ARCH], {
    stdio: 'ignore',
  });
  sshd = await startSshd({ host: '127.0.0.12' });
  mkdirSync(join(sshd.dir, 'local'));
  bundle = copyAgentBundle(join(sshd.dir, 'local'));
  agentDir = join(sshd.dir, 'agent-b');
  ssh = await SshConnection.connect({
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    auth: { kind: 'key', identityFile: sshd.userKeyPath },
    hostKey: { acceptHostKey: sshd.hostKeyFingerprint() },
  });
}, 300_000);

afterAll(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await ssh?.close();
  await sshd?.stop();
});

describe('bundled runtime', () => {
  let first: DeployResult;

  it('uploads the runtime once and runs the agent on it', async () => {
    const started = Date.now();
    first = await deployAgent(ssh, {
      agentDir,
      nbdListen: '127.0.0.12:0',
      bundlePath: bundle,
      runtime: 'bundled',
    });
    const seconds = (Date.now() - started) / 1000;
    pids.add(first.pid);
    const runtimePath = join(agentDir, 'runtime', `${BUNDLED_RUNTIME_VERSION}-${ARCH}`, 'node');
    expect(first.runtime).toMatchObject({
      kind: 'bundled',
      path: runtimePath,
      version: BUNDLED_RUNTIME_VERSION,
      uploaded: true,
    });
    // The process really runs on the uploaded runtime, not the system's node.
    expect(readlinkSync(`/proc/${first.pid}/exe`)).toBe(runtimePath);
    expect(readlinkSync(`/proc/${first.pid}/exe`)).not.toBe(readlinkSync('/proc/self/exe'));
    expect(statSync(runtimePath).mode & 0o777).toBe(0o755);
    const mb = statSync(runtimePath).size / 1e6;
    console.log(`first bundled deploy: ${mb.toFixed(0)} MB runtime + agent in ${seconds.toFixed(1)} s`);
  });

  it('does not upload the runtime again, and keeps the running agent', async () => {
    const again = await deployAgent(ssh, {
      agentDir,
      nbdListen: '127.0.0.12:0',
      bundlePath: bundle,
      runtime: 'bundled',
    });
    expect(again).toMatchObject({ started: false, bundleUploaded: false, pid: first.pid });
    expect(again.runtime.uploaded).toBe(false);
  });

  it('switching the runtime restarts the same agent on the system node', async () => {
    const system = await deployAgent(ssh, {
      agentDir,
      nbdListen: '127.0.0.12:0',
      bundlePath: bundle,
      runtime: 'system',
    });
    pids.add(system.pid);
    expect(system).toMatchObject({ started: true, bundleUploaded: false, replaced: first.sha256 });
    expect(system.runtime.kind).toBe('system');
    expect(readlinkSync(`/proc/${system.pid}/exe`)).toBe(system.runtime.realPath);
  });
});

describe('runtime errors', () => {
  it('names the architectures it ships for one it does not', () => {
    expect(() => runtimeArchFor('riscv64')).toThrow(
      expect.objectContaining({
        code: 'ERR_UNSUPPORTED',
        message: expect.stringMatching(/riscv64.*x64 and arm64/),
      }),
    );
    expect(runtimeArchFor('x86_64')).toBe('x64');
    expect(runtimeArchFor('aarch64')).toBe('arm64');
  });

  it('says how to fetch a runtime that is not on this machine', () => {
    expect(() => findLocalRuntime('arm64', [join(sshd.dir, 'empty')])).toThrow(
      expect.objectContaining({
        code: 'ERR_NOT_FOUND',
        message: expect.stringMatching(/fetch-agent-runtime\.mjs arm64/),
      }),
    );
  });

  it('refuses --runtime system where node is missing or too old', async () => {
    const probe = { os: 'Linux', machine: 'x86_64', hasSetsid: true, hasSha256sum: true };
    await expect(chooseRuntime(ssh, { ...probe }, 'system', agentDir)).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED',
      message: expect.stringMatching(/no node on its PATH.*--runtime bundled/),
    });
    await expect(
      chooseRuntime(ssh, { ...probe, nodePath: '/usr/bin/node', nodeVersion: '16.20.0' }, 'system', agentDir),
    ).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED', message: expect.stringMatching(/16\.20\.0.*>= 18/) });
  });
});

describe('upload', () => {
  it('falls back to a write stream and verifies the copy by sha256', async () => {
    const target = join(sshd.dir, 'uploaded', 'agent.mjs');
    mkdirSync(join(sshd.dir, 'uploaded'));
    const sha256 = await sha256File(bundle);
    const result = await uploadVerified(ssh, bundle, target, { sha256, forceStream: true });
    expect(result.method).toBe('stream');
    expect(readFileSync(target)).toEqual(readFileSync(bundle));
    await expect(
      uploadVerified(ssh, bundle, `${target}.bad`, { sha256: '0'.repeat(64) }),
    ).rejects.toMatchObject({
      code: 'ERR_IO',
      message: expect.stringMatching(/does not match/),
    });
  });
});
