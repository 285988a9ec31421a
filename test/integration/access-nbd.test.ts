// Per-volume access rules through a real agent: an allowed client (qemu-io, nbdinfo) works; a client
// bound to another loopback address is refused with NBD_REP_ERR_POLICY and does not see the volume
// in NBD_OPT_LIST, with a log line naming it; read-only refuses qemu-io writes with EPERM; the rules
// survive a restart; volume delete names connected clients.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { NbdErrno, Rep, TxFlag } from '../../agent/nbd/wire.js';
import { type AgentProcess, startAgent } from '../helpers/agent-process.js';
import { RawNbd } from './access-raw-client.js';

const run = promisify(execFile);
let agent: AgentProcess | undefined;
afterEach(async () => {
  RawNbd.closeAll();
  await agent?.stop();
  agent = undefined;
});

async function qemuIo(url: string, ...commands: string[]): Promise<string> {
  const { stdout } = await run('qemu-io', ['-f', 'raw', ...commands.flatMap((c) => ['-c', c]), url]);
  return stdout;
}

/** qemu-io opening the export read-only (-r), as qemu must for a read-only export. */
async function qemuIoReadOnly(url: string, ...commands: string[]): Promise<string> {
  const { stdout } = await run('qemu-io', ['-r', '-f', 'raw', ...commands.flatMap((c) => ['-c', c]), url]);
  return stdout;
}

async function newVolume(name = 'vol1'): Promise<AgentProcess> {
  const a = await startAgent();
  await a.ctl('pool', 'add', 'p1', '--dir', `${a.dir}/pool1`);
  await a.ctl('volume', 'create', name, '--size', '16M', '--pool', 'p1');
  return a;
}

describe('per-volume access rules', () => {
  it('says the default at start, and serves loopback clients by default', async () => {
    agent = await newVolume();
    expect(agent.output()).toContain(
      'new volumes allow 127.0.0.0/8, ::1/128 (loopback only: change with --hosts-allow CIDR,...); host TLS off',
    );
    const policy = await agent.ctl('volume', 'access', 'vol1');
    expect(policy).toEqual({
      name: 'vol1',
      policy: {
        allow: ['127.0.0.0/8', '::1/128'],
        denyAll: false,
        readOnly: false,
        hostTls: 'off',
        pskIdentities: [],
      },
    });
    const other = await RawNbd.connect(agent.nbdPort, '127.0.0.2');
    expect(await other.list()).toEqual(['vol1']);
  });

  it('refuses a client from another loopback address with ERR_POLICY, hides the volume from it, and logs it', async () => {
    agent = await newVolume();
    await agent.ctl('volume', 'create', 'open', '--size', '4M', '--pool', 'p1');
    const res = await agent.ctlRaw('volume', 'access', 'vol1', '--allow', '127.0.0.1');
    expect(res.stdout).toBe('volume vol1: allow 127.0.0.1/32; read-write; host TLS off\n');

    await qemuIo(agent.nbdUrl('vol1'), 'write -P 0x42 0 64k');
    expect(await qemuIo(agent.nbdUrl('vol1'), 'read -P 0x42 0 64k')).not.toMatch(/fail|error/i);
    const { stdout: listing } = await run('nbdinfo', ['--list', `nbd://127.0.0.1:${agent.nbdPort}`]);
    expect(listing).toContain('export="vol1"');

    const stranger = await RawNbd.connect(agent.nbdPort, '127.0.0.2');
    expect(await stranger.list()).toEqual(['open']);
    const refused = await stranger.go('vol1');
    expect(refused.error).toBe(Rep.ERR_POLICY);
    expect(refused.message).toContain("127.0.0.2 is not in the volume's allow list (127.0.0.1/32)");
    expect((await stranger.go('open')).error).toBeUndefined();
    expect(agent.output()).toMatch(
      /refused client 127\.0\.0\.2:\d+ \(connection \d+\) for volume vol1: 127\.0\.0\.2 is not in the volume's allow list \(127\.0\.0\.1\/32\)/,
    );
  });

  it('serves a read-only volume: the flag, reads work, qemu-io writes fail with EPERM', async () => {
    agent = await newVolume();
    await qemuIo(agent.nbdUrl('vol1'), 'write -P 0x17 1M 64k');
    await agent.ctl('volume', 'access', 'vol1', '--read-only');
    const { stdout: info } = await run('nbdinfo', ['--json', agent.nbdUrl('vol1')]);
    expect(JSON.parse(info).exports[0]['is_read_only']).toBe(true);
    expect(await qemuIoReadOnly(agent.nbdUrl('vol1'), 'read -P 0x17 1M 64k')).toContain(
      'read 65536/65536 bytes',
    );
    // qemu-io sees NBD_FLAG_READ_ONLY and will not open the export for writing at all.
    const write = await run('qemu-io', [
      '-f',
      'raw',
      '-c',
      'write -P 0x99 1M 4k',
      agent.nbdUrl('vol1'),
    ]).catch((err: { stdout: string; stderr: string }) => err);
    expect(`${write.stdout}${write.stderr}`).toContain('Permission denied');
    // A client that writes anyway gets EPERM from the server, and the data stays.
    const raw = await RawNbd.connect(agent.nbdPort, '127.0.0.1');
    const go = await raw.go('vol1');
    expect(go.flags! & TxFlag.READ_ONLY).toBe(TxFlag.READ_ONLY);
    expect(await raw.write(1024 * 1024, Buffer.alloc(4096, 0x99))).toBe(NbdErrno.EPERM);
    expect(await qemuIoReadOnly(agent.nbdUrl('vol1'), 'read -P 0x17 1M 64k')).toContain(
      'read 65536/65536 bytes',
    );
    await agent.ctl('volume', 'access', 'vol1', '--read-write');
    expect(await qemuIo(agent.nbdUrl('vol1'), 'write -P 0x99 1M 4k')).toContain('wrote 4096/4096 bytes');
  });

  it('deny-all refuses everyone, and the rules survive a restart', async () => {
    agent = await newVolume();
    await agent.ctl('volume', 'access', 'vol1', '--deny-all');
    await agent.restart();
    expect(await agent.ctl('volume', 'access', 'vol1')).toMatchObject({ policy: { denyAll: true } });
    const failed = await run('nbdinfo', [agent.nbdUrl('vol1')]).catch((err: { stderr: string }) => err);
    expect('stderr' in failed ? failed.stderr : '').toContain('server replied with error to opt_go request');
    expect(agent.output()).toMatch(
      /refused client 127\.0\.0\.1:\d+ \(connection \d+\) for volume vol1: the volume denies all hosts/,
    );
    await agent.ctl('volume', 'access', 'vol1', '--allow', '127.0.0.0/8,::1');
    const { stdout } = await run('nbdinfo', ['--size', agent.nbdUrl('vol1')]);
    expect(stdout.trim()).toBe(String(16 * 1024 * 1024));
  });

  it('checks rules before sending them, with the reason', async () => {
    agent = await newVolume();
    const bad = await agent.ctlRaw('volume', 'access', 'vol1', '--allow', '10.0.0.300');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'invalid address rule: "10.0.0.300" is not an IPv4 address: 300 is above 255',
    );
    const both = await agent.ctlRaw('volume', 'access', 'vol1', '--allow', '10.0.0.1', '--deny-all');
    expect(both.stderr).toContain('give either --allow or --deny-all, not both');
    const tls = await agent.ctlRaw('volume', 'access', 'vol1', '--host-tls', 'maybe');
    expect(tls.stderr).toContain('invalid host TLS mode "maybe": use one of off, allow, require');
    const missing = await agent.ctlRaw('volume', 'access', 'nope', '--read-only');
    expect(missing.code).toBe(3);
  });

  it('applies serve --hosts-allow to new volumes and prints it', async () => {
    agent = await startAgent({ serveArgs: ['--hosts-allow', '127.0.0.1,::1'] });
    expect(agent.output()).toContain('new volumes allow 127.0.0.1/32, ::1/128; host TLS off');
    await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`);
    await agent.ctl('volume', 'create', 'v', '--size', '4M', '--pool', 'p1');
    const stranger = await RawNbd.connect(agent.nbdPort, '127.0.0.2');
    expect(await stranger.list()).toEqual([]);
    expect((await stranger.go('v')).error).toBe(Rep.ERR_POLICY);
  });

  it('refuses to delete a volume a host is connected to, naming the client, unless --force', async () => {
    agent = await newVolume();
    const host = await RawNbd.connect(agent.nbdPort, '127.0.0.3');
    expect((await host.go('vol1')).error).toBeUndefined();
    const res = await agent.ctlRaw('volume', 'delete', 'vol1');
    expect(res.code).toBe(6);
    expect(res.stderr).toMatch(
      /volume vol1 is open by 1 NBD connection\(s\): 127\.0\.0\.3:\d+ \(connection \d+\); disconnect them or use --force/,
    );
    await agent.ctl('volume', 'delete', 'vol1', '--force');
    expect(await host.waitClosed(5000)).toBe(true);
  });
});
