// `ferry appliance add` on a terminal (a real pty from script(1)) against a real sshd on 127.0.0.12:
// the key's passphrase is asked without echo, the host key is shown and pinned on "y", refused on
// anything else; the passphrase is never printed nor stored.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellCommand } from '../../main/core/ssh/shell-quote.js';
import { REPO_ROOT } from '../helpers/agent-bundle.js';
import {
  buildBundles,
  ferry,
  parseJson,
  type SshAppliance,
  startSshAppliance,
  teardownAppliance,
  tempStore,
} from './console-ssh-harness.js';

let delta: SshAppliance;
let store: ReturnType<typeof tempStore>;

/** Runs the CLI on a pty; answers each prompt (matched on the output so far) once it appears. */
function onTerminal(
  args: string[],
  answers: Array<{ when: RegExp; type: string }>,
): Promise<{ code: number; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, FERRY_LOG: 'quiet' };
  delete env.SSH_AUTH_SOCK;
  const command = shellCommand([
    process.execPath,
    join(REPO_ROOT, 'bin', 'ferry.mjs'),
    ...args,
    '--store',
    store.storePath,
  ]);
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const pending = [...answers];
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    while (pending.length > 0 && pending[0].when.test(output)) {
      child.stdin.write(`${pending.shift()?.type}\r`);
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  child.stdin.on('error', () => {});
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

beforeAll(async () => {
  await buildBundles();
  store = tempStore();
  delta = await startSshAppliance('delta', '127.0.0.12');
}, 120_000);

afterAll(async () => {
  await teardownAppliance(delta);
  store?.cleanup();
});

describe('ferry appliance add on a terminal', () => {
  const args = () => {
    const a = delta.addArgs();
    a[a.indexOf('--identity') + 1] = delta.sshd.passphraseKeyPath;
    return a;
  };

  it('refuses the host key unless the answer is yes, and adds nothing', async () => {
    const { code, output } = await onTerminal(args(), [
      { when: /passphrase for .*pass_ed25519: $/, type: delta.sshd.passphrase },
      { when: /Accept and pin it\? \[y\/N\] $/, type: 'n' },
    ]);
    expect(code, output).toBe(11);
    expect(output).toContain(delta.sshd.hostKeyFingerprint());
    expect(output).toContain('--accept-host-key');
    expect(output).not.toContain(delta.sshd.passphrase);
    expect(parseJson<unknown[]>(await ferry(store.storePath, ['appliance', 'list', '--json']))).toEqual([]);
  });

  it('asks the passphrase without echo, pins the key on yes, and deploys', async () => {
    const { code, output } = await onTerminal(args(), [
      { when: /passphrase for .*pass_ed25519: $/, type: delta.sshd.passphrase },
      { when: /Accept and pin it\? \[y\/N\] $/, type: 'y' },
    ]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/appliance delta added: .* host key SHA256:\S+ \(ssh-ed25519\) pinned/);
    expect(output).not.toContain(delta.sshd.passphrase);
    const [listed] = parseJson<Array<{ name: string; hostKey: string; auth: string }>>(
      await ferry(store.storePath, ['appliance', 'list', '--json']),
    );
    expect(listed).toMatchObject({ name: 'delta', hostKey: delta.sshd.hostKeyFingerprint(), auth: 'key' });
  });

  it('asks the passphrase again in a later command that needs the appliance (never stored)', async () => {
    const { code, output } = await onTerminal(
      ['appliance', 'check', 'delta'],
      [{ when: /passphrase for .*pass_ed25519: $/, type: delta.sshd.passphrase }],
    );
    expect(code, output).toBe(0);
    expect(output).toMatch(/delta is reachable; agent \S+ \(pid \d+\) answered in [\d.]+ ms/);
    expect(output).not.toContain(delta.sshd.passphrase);
  });
});
