// Authentication against a real sshd: key file, encrypted key with passphrase, ssh-agent, and the
// clear errors a wrong key, a wrong user or a closed port give.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAuth, type SshAuth, SshConnection } from '../../main/core/ssh/index.js';
import { type SshdFixture, startSshd } from '../helpers/sshd-fixture.js';

let sshd: SshdFixture;
let agent: ChildProcess | undefined;

beforeAll(async () => {
  sshd = await startSshd({ host: '127.0.0.12' });
});

afterAll(async () => {
  agent?.kill('SIGTERM');
  await sshd?.stop();
});

function connect(auth: SshAuth, user = sshd.user, port = sshd.port) {
  return SshConnection.connect({
    host: sshd.host,
    port,
    user,
    auth,
    hostKey: { acceptHostKey: sshd.hostKeyFingerprint() },
    reconnect: false,
    readyTimeoutMs: 5000,
  });
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  return promise.then(
    () => ({ code: 'none', message: 'connected' }),
    (e: { code: string; message: string }) => ({ code: e.code, message: e.message }),
  );
}

describe('SSH authentication', () => {
  it('logs in with a key file', async () => {
    const conn = await connect({ kind: 'key', identityFile: sshd.userKeyPath });
    expect((await conn.run('id -un')).trim()).toBe(sshd.user);
    await conn.close();
    await conn.close(); // idempotent
  });

  it('asks for the passphrase of an encrypted key only, and rejects a wrong one', async () => {
    const missing = await codeOf(connect({ kind: 'key', identityFile: sshd.passphraseKeyPath }));
    expect(missing).toMatchObject({ code: 'ERR_AUTH', message: expect.stringMatching(/encrypted/) });
    const wrong = await codeOf(
      connect({ kind: 'key', identityFile: sshd.passphraseKeyPath, passphrase: 'nope' }),
    );
    expect(wrong).toMatchObject({ code: 'ERR_AUTH', message: expect.stringMatching(/wrong passphrase/) });
    let asked = 0;
    const conn = await connect({
      kind: 'key',
      identityFile: sshd.passphraseKeyPath,
      passphrase: async () => {
        asked++;
        return sshd.passphrase;
      },
    });
    expect(asked).toBe(1);
    await conn.close();
  });

  it('logs in through ssh-agent (SSH_AUTH_SOCK)', async () => {
    const socket = join(sshd.dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
    execFileSync('ssh-add', [sshd.userKeyPath], {
      env: { ...process.env, SSH_AUTH_SOCK: socket },
      stdio: 'ignore',
    });
    const conn = await connect({ kind: 'agent', socket });
    expect((await conn.run('echo via-agent')).trim()).toBe('via-agent');
    await conn.close();
    // No socket given and none in the environment: a clear error before any connection.
    await expect(resolveAuth({ kind: 'agent' }, {})).rejects.toMatchObject({
      code: 'ERR_AUTH',
      message: expect.stringMatching(/SSH_AUTH_SOCK is not set/),
    });
  });

  it('fails with ERR_AUTH for a key the server does not know', async () => {
    const result = await codeOf(connect({ kind: 'key', identityFile: sshd.otherKeyPath }));
    expect(result.code).toBe('ERR_AUTH');
    expect(result.message).toMatch(/authentication failed for .*authorized_keys/);
  });

  it('fails with ERR_AUTH for a wrong user', async () => {
    const result = await codeOf(
      connect({ kind: 'key', identityFile: sshd.userKeyPath }, 'ferry-no-such-user'),
    );
    expect(result.code).toBe('ERR_AUTH');
    expect(result.message).toContain('ferry-no-such-user@');
  });

  it('fails with ERR_UNREACHABLE when nothing listens', async () => {
    const result = await codeOf(connect({ kind: 'key', identityFile: sshd.userKeyPath }, sshd.user, 1));
    expect(result.code).toBe('ERR_UNREACHABLE');
    expect(result.message).toMatch(/refused/);
  });

  it('fails with ERR_AUTH for a missing identity file', async () => {
    const result = await codeOf(connect({ kind: 'key', identityFile: join(sshd.dir, 'nope') }));
    expect(result).toMatchObject({
      code: 'ERR_AUTH',
      message: expect.stringMatching(/cannot read the identity file/),
    });
  });
});
