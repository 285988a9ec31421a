// A volume made with ctl is served over NBD to real clients (qemu-io, nbdinfo); flushed data and
// the whole inventory survive kill -9 of the agent; SIGTERM stops it cleanly with exit code 0.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgent } from '../helpers/agent-process.js';

const run = promisify(execFile);
let agent: AgentProcess | undefined;

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

async function qemuIo(url: string, ...commands: string[]): Promise<string> {
  const args = ['-f', 'raw', ...commands.flatMap((c) => ['-c', c]), url];
  const { stdout } = await run('qemu-io', args);
  if (/fail|error|pattern verification/i.test(stdout)) throw new Error(`qemu-io: ${stdout}`);
  return stdout;
}

interface VolumeJson {
  name: string;
  uuid: string;
  size: number;
  epoch: number;
  mapping: { kind: string; pool: string; lv: string };
}

describe('agent volume I/O', () => {
  it('serves a new volume to qemu-io and nbdinfo, and keeps flushed data and mappings across kill -9', async () => {
    agent = await startAgent();
    await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`);
    const created = await agent.ctl<VolumeJson>('volume', 'create', 'vol1', '--size', '32M', '--pool', 'p1');
    expect(created).toMatchObject({
      name: 'vol1',
      size: 32 * 1024 * 1024,
      epoch: 1,
      mapping: { pool: 'p1', lv: 'vol1' },
    });
    await agent.ctl('volume', 'create', 'vol2', '--size', '8M', '--pool', 'p1');

    const url = agent.nbdUrl('vol1');
    await qemuIo(url, 'write -P 0xab 0 1M', 'write -P 0xcd 5M 64k', 'write -P 0xef 32764k 4k', 'flush');
    await qemuIo(
      url,
      'read -P 0xab 0 1M',
      'read -P 0xcd 5M 64k',
      'read -P 0xef 32764k 4k',
      'read -P 0 2M 1M',
    );

    const { stdout: list } = await run('nbdinfo', ['--list', `nbd://127.0.0.1:${agent.nbdPort}`]);
    expect(list).toContain('export="vol1"');
    expect(list).toContain('export="vol2"');
    expect(list).toContain(created.uuid);

    const before = await agent.ctl<VolumeJson[]>('volume', 'list');
    expect(await agent.kill('SIGKILL')).toBe('SIGKILL');
    await agent.restart();
    const after = await agent.ctl<VolumeJson[]>('volume', 'list');
    expect(after).toEqual(before);
    await qemuIo(agent.nbdUrl('vol1'), 'read -P 0xab 0 1M', 'read -P 0xcd 5M 64k', 'read -P 0xef 32764k 4k');
  });

  it('keeps a FUA write across kill -9 without a flush', async () => {
    agent = await startAgent();
    await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`);
    await agent.ctl('volume', 'create', 'fua', '--size', '16M', '--pool', 'p1');
    await qemuIo(agent.nbdUrl('fua'), 'write -f -P 0x5a 4M 256k');
    await agent.kill('SIGKILL');
    await agent.restart();
    await qemuIo(agent.nbdUrl('fua'), 'read -P 0x5a 4M 256k');
  });

  it('stops with exit code 0 on SIGTERM, with a control socket of mode 0600 while running', async () => {
    agent = await startAgent();
    expect(statSync(agent.control).mode & 0o777).toBe(0o600);
    expect(statSync(agent.stateDir).mode & 0o077).toBe(0);
    await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`);
    await agent.ctl('volume', 'create', 'v', '--size', '4M', '--pool', 'p1');
    await qemuIo(agent.nbdUrl('v'), 'write -P 0x11 0 64k');
    expect(await agent.kill('SIGTERM')).toBe(0);
    expect(() => statSync(agent!.control)).toThrow();
    expect(agent.output()).toContain('serving NBD on 127.0.0.1:');
    await agent.restart();
    await qemuIo(agent.nbdUrl('v'), 'read -P 0x11 0 64k');
  });
});
