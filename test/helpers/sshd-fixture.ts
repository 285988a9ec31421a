// A real OpenSSH server on a loopback address, standing in for an appliance in integration tests.
// It generates its own host and user keys in a temp dir, runs `/usr/sbin/sshd -D -e` as a child
// process, and is always torn down by stop() (safe to call twice). restart({ newHostKey }) lets a
// test change the host key the way a reinstalled appliance would.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SSHD = '/usr/sbin/sshd';

export interface SshdFixture {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Temp dir holding keys, config, logs; also a good parent for the appliance's agent dir. */
  readonly dir: string;
  /** Private key file authorised to log in (no passphrase). */
  readonly userKeyPath: string;
  /** A second key file, NOT authorised: for wrong-key tests. */
  readonly otherKeyPath: string;
  /** Private key file with passphrase `passphrase`, authorised. */
  readonly passphraseKeyPath: string;
  readonly passphrase: string;
  /** `SHA256:...` fingerprint of the current host key, as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint(): string;
  /** Restarts sshd on the same address and port, optionally with a freshly generated host key. */
  restart(opts?: { newHostKey?: boolean }): Promise<void>;
  /** Everything sshd wrote to stderr (-e), for failure messages. */
  log(): string;
  /** Kills the per-connection sshd processes (children of this sshd): every open session drops. */
  dropSessions(): void;
  /** Pids of the per-connection sshd processes (to freeze one with SIGSTOP, say). */
  sessionPids(): number[];
  stop(): Promise<void>;
}

export interface SshdFixtureOptions {
  /** Loopback address to listen on, e.g. 127.0.0.11. */
  host?: string;
}

function keygen(path: string, passphrase = ''): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'ferry-test', '-f', path], {
    stdio: 'ignore',
  });
}

function fingerprintOf(publicKeyPath: string): string {
  const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyPath], { encoding: 'utf8' });
  const fp = out.split(/\s+/)[1];
  if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -l output: ${out}`);
  return fp;
}

/** Finds a free TCP port on host: bind port 0, read it back, release it for sshd. */
async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(
  host: string,
  port: number,
  child: ChildProcess,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}:\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${host}:${port} within 10 s:\n${log()}`);
}

export async function startSshd(options: SshdFixtureOptions = {}): Promise<SshdFixture> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: apt-get install openssh-server`);
  const host = options.host ?? '127.0.0.11';
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sshd-'));
  // sshd refuses to start without its privilege-separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const hostKeyPath = join(dir, 'host_ed25519');
  const userKeyPath = join(dir, 'user_ed25519');
  const otherKeyPath = join(dir, 'other_ed25519');
  const passphraseKeyPath = join(dir, 'pass_ed25519');
  const passphrase = 'correct horse battery';
  keygen(hostKeyPath);
  keygen(userKeyPath);
  keygen(otherKeyPath);
  keygen(passphraseKeyPath, passphrase);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(
    authorizedKeys,
    readFileSync(`${userKeyPath}.pub`, 'utf8') + readFileSync(`${passphraseKeyPath}.pub`, 'utf8'),
    { mode: 0o600 },
  );

  const port = await freePort(host);
  const user = process.env.USER && process.env.USER !== '' ? process.env.USER : 'root';
  const configPath = join(dir, 'sshd_config');
  writeFileSync(
    configPath,
    [
      `ListenAddress ${host}:${port}`,
      `HostKey ${hostKeyPath}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // AuthorizedKeysFile applies to every account: restrict logins so a wrong user really fails.
      `AllowUsers ${user}`,
      'AllowStreamLocalForwarding yes',
      'AllowTcpForwarding yes',
      'Subsystem sftp internal-sftp',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let stderr = '';
  const log = () => stderr;

  const launch = async () => {
    stderr += `--- sshd start ${new Date().toISOString()}\n`;
    const proc = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
    });
    proc.on('error', (err) => {
      stderr += `spawn error: ${err.message}\n`;
    });
    child = proc;
    await waitForPort(host, port, proc, log);
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };

  const sessionPids = (): number[] => {
    const pid = child?.pid;
    if (!pid) return [];
    const out = spawnSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' }).stdout ?? '';
    return out.split(/\s+/).filter(Boolean).map(Number);
  };

  let stopped = false;
  await launch();
  return {
    host,
    port,
    user,
    dir,
    userKeyPath,
    otherKeyPath,
    passphraseKeyPath,
    passphrase,
    hostKeyFingerprint: () => fingerprintOf(`${hostKeyPath}.pub`),
    async restart(opts = {}) {
      await kill();
      if (opts.newHostKey) {
        rmSync(hostKeyPath, { force: true });
        rmSync(`${hostKeyPath}.pub`, { force: true });
        keygen(hostKeyPath);
      }
      await launch();
    },
    log,
    sessionPids,
    dropSessions() {
      for (const session of sessionPids()) {
        try {
          process.kill(session, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
