// exec (exit codes, stdin, timeouts), SFTP, a stream to a UNIX socket on the "appliance" through
// OpenSSH's stream-local forwarding, and reconnecting after the session drops.
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnection } from '../../main/core/ssh/index.js';
import { type SshdFixture, startSshd } from '../helpers/sshd-fixture.js';

let sshd: SshdFixture;
let conn: SshConnection;
let echo: net.Server;
let socketPath: string;

beforeAll(async () => {
  sshd = await startSshd({ host: '127.0.0.11' });
  conn = await SshConnection.connect({
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    auth: { kind: 'key', identityFile: sshd.userKeyPath },
    hostKey: { acceptHostKey: sshd.hostKeyFingerprint() },
    keepaliveIntervalMs: 1000,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
  });
  // The "appliance" is this machine: an echo server on a UNIX socket stands in for an agent.
  mkdirSync(join(sshd.dir, 'run'));
  socketPath = join(sshd.dir, 'run', 'echo.sock');
  echo = net.createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((resolve) => echo.listen(socketPath, resolve));
});

afterAll(async () => {
  await conn?.close();
  echo?.close();
  await sshd?.stop();
});

describe('SSH exec', () => {
  it('returns the exit code, stdout and stderr', async () => {
    const result = await conn.exec('echo out; echo err >&2; exit 3');
    expect(result).toEqual({ code: 3, signal: null, stdout: 'out\n', stderr: 'err\n' });
  });

  it('feeds stdin', async () => {
    expect(await conn.run('wc -c', { stdin: 'twelve bytes' })).toMatch(/^\s*12\s*$/);
  });

  it('run() turns a failure into ERR_IO with the exit code and stderr', async () => {
    await expect(conn.run('ls /no/such/dir')).rejects.toMatchObject({
      code: 'ERR_IO',
      message: expect.stringMatching(/exit 2.*No such file/),
    });
  });

  it('times out a command with ERR_TIMEOUT', async () => {
    const started = Date.now();
    await expect(conn.exec('sleep 20', { timeoutMs: 300 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('SFTP', () => {
  it('writes and reads a file', async () => {
    const sftp = await conn.sftp();
    const path = join(sshd.dir, 'hello.txt');
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(path, 'hello appliance', (err) => (err ? reject(err) : resolve())),
    );
    expect(await conn.run(`cat ${path}`)).toBe('hello appliance');
    expect(await conn.sftp()).toBe(sftp);
  });
});

describe('stream-local forwarding', () => {
  it('reaches a UNIX socket on the appliance', async () => {
    const stream = await conn.openUnixSocket(socketPath);
    const reply = await new Promise<string>((resolve, reject) => {
      let got = '';
      stream.on('data', (chunk: Buffer) => {
        got += chunk.toString();
        if (got.includes('\n')) resolve(got);
      });
      stream.on('error', reject);
      stream.write('ping over ssh\n');
    });
    expect(reply).toBe('ping over ssh\n');
    stream.end();
  });

  it('fails clearly when no socket is there', async () => {
    await expect(conn.openUnixSocket(join(sshd.dir, 'run', 'nothing.sock'))).rejects.toMatchObject({
      code: 'ERR_UNREACHABLE',
      message: expect.stringMatching(/nothing\.sock/),
    });
  });
});

describe('reconnect', () => {
  it('re-dials with backoff after the session drops, and callers wait for it', async () => {
    const states: string[] = [];
    conn.on('state', (s: string) => states.push(s));
    const reconnected = new Promise<void>((resolve) => conn.once('reconnected', () => resolve()));
    sshd.dropSessions();
    await reconnected;
    expect(states).toEqual(['reconnecting', 'ready']);
    expect((await conn.run('echo back')).trim()).toBe('back');
    // A command issued while the connection is down waits for the reconnect.
    sshd.dropSessions();
    await new Promise((r) => setTimeout(r, 50));
    expect((await conn.run('echo waited')).trim()).toBe('waited');
  });

  it('notices a peer gone silent by keepalive, and re-dials', async () => {
    const frozen = sshd.sessionPids();
    expect(frozen.length).toBeGreaterThan(0);
    const states: string[] = [];
    const onState = (s: string) => states.push(s);
    conn.on('state', onState);
    const reconnected = new Promise<void>((resolve) => conn.once('reconnected', () => resolve()));
    // A frozen session answers nothing, as a crashed appliance or a cut cable would.
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      await reconnected;
    } finally {
      for (const pid of frozen) {
        // The frozen sshd session may already be gone (its peer hung up): that is fine.
        for (const signal of ['SIGKILL', 'SIGCONT'] as const) {
          try {
            process.kill(pid, signal);
          } catch {}
        }
      }
      conn.off('state', onState);
    }
    expect(states).toEqual(['reconnecting', 'ready']);
    expect(conn.lastError?.code).toBe('ERR_UNREACHABLE');
    expect((await conn.run('echo alive')).trim()).toBe('alive');
  });
});
