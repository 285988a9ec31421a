// Host TLS per volume through a real agent: `ctl volume psk add` prints a key once; nbdinfo with the
// right PSK file reads the volume, with a wrong key or in plaintext when TLS is required it is
// refused; data written over TLS (nbdcopy, qemu-io tls-creds-psk) reads back identical; psk remove
// revokes the identity.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgent } from '../helpers/agent-process.js';

const run = promisify(execFile);
let agent: AgentProcess | undefined;

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

async function fails(cmd: string, args: string[]): Promise<string> {
  try {
    await run(cmd, args);
  } catch (err) {
    return (err as { stderr: string }).stderr;
  }
  throw new Error(`${cmd} ${args.join(' ')} succeeded but should have been refused`);
}

function pskFile(dir: string, name: string, identity: string, keyHex: string): string {
  const file = join(dir, name);
  writeFileSync(file, `${identity}:${keyHex}\n`, { mode: 0o600 });
  return file;
}

async function agentWithVolume(serveArgs: string[] = []): Promise<AgentProcess> {
  const a = await startAgent({ serveArgs });
  await a.ctl('pool', 'add', 'p1', '--dir', `${a.dir}/pool1`);
  await a.ctl('volume', 'create', 'vol1', '--size', '8M', '--pool', 'p1');
  return a;
}

describe('host TLS with PSK identities', () => {
  it('reads and writes with the right key, refuses a wrong key and plaintext when required', async () => {
    agent = await agentWithVolume();
    const human = await agent.ctlRaw('volume', 'psk', 'add', 'vol1', '--identity', 'host1');
    expect(human.code).toBe(0);
    const [line, note] = human.stdout.split('\n');
    expect(line).toMatch(/^host1:[0-9a-f]{64}$/);
    expect(note).toContain('it is not shown again');
    const key = line.split(':')[1];
    const right = pskFile(agent.dir, 'right.psk', 'host1', key);
    const wrong = pskFile(agent.dir, 'wrong.psk', 'host1', randomBytes(32).toString('hex'));
    await agent.ctl('volume', 'access', 'vol1', '--host-tls', 'require');

    const url = `nbds://host1@127.0.0.1:${agent.nbdPort}/vol1`;
    const { stdout } = await run('nbdinfo', ['--json', `${url}?tls-psk-file=${right}`]);
    const info = JSON.parse(stdout);
    expect(info.TLS).toBe(true);
    expect(info.exports[0]['export-size']).toBe(8 * 1024 * 1024);

    expect(await fails('nbdinfo', [`${url}?tls-psk-file=${wrong}`])).toMatch(/handshake|TLS|tls/);
    expect(await fails('nbdinfo', [agent.nbdUrl('vol1')])).toContain(
      'server replied with error to opt_go request',
    );
    expect(agent.output()).toMatch(
      /refused client 127\.0\.0\.1:\d+ \(connection \d+\) for volume vol1: the volume requires TLS/,
    );

    // Data written over TLS reads back identical.
    const data = randomBytes(8 * 1024 * 1024);
    const source = join(agent.dir, 'source.bin');
    const back = join(agent.dir, 'back.bin');
    writeFileSync(source, data);
    await run('nbdcopy', [source, `${url}?tls-psk-file=${right}`]);
    await run('nbdcopy', [`${url}?tls-psk-file=${right}`, back]);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(readFileSync(back))).toBe(sha(data));

    // qemu with tls-creds-psk writes a pattern over TLS and reads it back.
    const creds = join(agent.dir, 'qemu-psk');
    mkdirSync(creds, { mode: 0o700 });
    pskFile(creds, 'keys.psk', 'host1', key);
    const { stdout: qemu } = await run('qemu-io', [
      '--object',
      `tls-creds-psk,id=tls0,endpoint=client,dir=${creds},username=host1`,
      '-c',
      'write -P 0x5a 1M 64k',
      '-c',
      'read -P 0x5a 1M 64k',
      '--image-opts',
      `driver=nbd,host=127.0.0.1,port=${agent.nbdPort},export=vol1,tls-creds=tls0`,
    ]);
    expect(qemu).toContain('read 65536/65536 bytes');
    expect(qemu).not.toMatch(/verification failed|error/i);
  });

  it('keeps keys in 0600 files, lists identities without keys, and revokes on remove', async () => {
    agent = await agentWithVolume();
    await agent.ctl('volume', 'create', 'vol2', '--size', '4M', '--pool', 'p1');
    const added = await agent.ctl<{ identity: string; key: string }>(
      'volume',
      'psk',
      'add',
      'vol1',
      '--identity',
      'host1',
    );
    const file = pskFile(agent.dir, 'host1.psk', 'host1', added.key);
    const secrets = join(agent.stateDir, 'secrets');
    const keyFiles = readdirSync(secrets).filter((f) => f.startsWith('hostpsk.'));
    expect(keyFiles).toHaveLength(1);
    expect(statSync(join(secrets, keyFiles[0])).mode & 0o777).toBe(0o600);

    // The same identity on a second volume shares its key: no new key is printed.
    const shared = await agent.ctl<{ key?: string }>('volume', 'psk', 'add', 'vol2', '--identity', 'host1');
    expect(shared.key).toBeUndefined();
    await agent.ctl('volume', 'psk', 'add', 'vol2', '--identity', 'host2');
    expect(await agent.ctl('volume', 'psk', 'list')).toEqual([
      { volume: 'vol1', identity: 'host1' },
      { volume: 'vol2', identity: 'host1' },
      { volume: 'vol2', identity: 'host2' },
    ]);
    const list = await agent.ctlRaw('volume', 'psk', 'list', 'vol1');
    expect(list.stdout).not.toContain(added.key);

    const url = (name: string) => `nbds://host1@127.0.0.1:${agent!.nbdPort}/${name}?tls-psk-file=${file}`;
    await run('nbdinfo', ['--size', url('vol1')]);
    await agent.ctl('volume', 'psk', 'remove', 'vol1', '--identity', 'host1');
    expect(await fails('nbdinfo', ['--size', url('vol1')])).toContain('server policy prevents NBD_OPT_GO');
    // Still listed on vol2, so the key is kept and opens vol2.
    await run('nbdinfo', ['--size', url('vol2')]);
    await agent.ctl('volume', 'psk', 'remove', 'vol2', '--identity', 'host1');
    expect(await fails('nbdinfo', ['--size', url('vol2')])).toMatch(/handshake|TLS|tls/);
    expect(readdirSync(secrets).filter((f) => f.startsWith('hostpsk.'))).toHaveLength(1); // host2's
  });

  it('serve --host-tls require refuses every plaintext option, listing included', async () => {
    agent = await agentWithVolume(['--host-tls', 'require']);
    expect(agent.output()).toContain('host TLS require');
    expect(await fails('nbdinfo', ['--list', `nbd://127.0.0.1:${agent.nbdPort}`])).toContain(
      'nbd_opt_list: server replied with error',
    );
    expect(agent.output()).toContain('option LIST refused: TLS is required');
    const { key } = await agent.ctl<{ key: string }>('volume', 'psk', 'add', 'vol1', '--identity', 'h');
    const file = pskFile(agent.dir, 'h.psk', 'h', key);
    const { stdout } = await run('nbdinfo', [
      '--size',
      `nbds://h@127.0.0.1:${agent.nbdPort}/vol1?tls-psk-file=${file}`,
    ]);
    expect(stdout.trim()).toBe(String(8 * 1024 * 1024));
  });
});
