// `ferry-agent ctl pool add` through a real agent: device pools on loop devices (empty accepted;
// ext4, mounted, partitioned refused with their reasons; --force takes the formatted one, prints what
// is lost and leaves an audit line), dir pools on small or read-only filesystems, LV files 0600.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgent } from '../helpers/agent-process.js';
import { LoopLab, loopDevicesUnavailable } from '../helpers/loop-device.js';

const unavailable = loopDevicesUnavailable();
if (unavailable) console.warn(`device-safety-pool-add: loop cases skipped: ${unavailable}`);

let agent: AgentProcess;
beforeAll(async () => {
  agent = await startAgent();
});
afterAll(async () => {
  await agent?.stop();
});

describe.skipIf(unavailable !== undefined)('pool add --device on loop devices', () => {
  let lab: LoopLab;
  beforeAll(() => {
    lab = new LoopLab();
  });
  afterEach(() => {
    lab.cleanup();
    lab = new LoopLab();
  });
  afterAll(() => lab.cleanup());

  it('accepts an empty loop device', async () => {
    const dev = lab.create({ sizeMiB: 32 });
    const info = await agent.ctl<{ devices: string[]; size: number; forced?: unknown }>(
      'pool',
      'add',
      'clean',
      '--device',
      dev.path,
    );
    expect(info).toMatchObject({ devices: [dev.path], size: 32 * 1024 * 1024 });
    expect(info.forced).toBeUndefined();
    await agent.ctl('pool', 'remove', 'clean');
  });

  it('refuses ext4, mounted and partitioned devices with every reason, and exit code 12', async () => {
    const formatted = lab.create();
    execFileSync('mkfs.ext4', ['-q', formatted.path]);
    const mounted = lab.create();
    execFileSync('mkfs.ext4', ['-q', mounted.path]);
    const target = lab.mount(mounted.path);
    const partitioned = lab.create({
      prepareFile: (file) => execFileSync('sfdisk', ['-q', file], { input: 'label: dos\n,,L\n' }),
    });
    const res = await agent.ctlRaw(
      'pool',
      'add',
      'bad',
      '--device',
      `${formatted.path},${mounted.path},${partitioned.path}`,
    );
    expect(res.code).toBe(12);
    expect(res.stderr).toContain(
      `error: pool bad: refusing ${formatted.path}, ${mounted.path}, ${partitioned.path}:`,
    );
    expect(res.stderr).toContain(`  - ${formatted.path} carries an ext4 filesystem (UUID `);
    expect(res.stderr).toContain(`  - ${mounted.path} is mounted at ${target} (ext4); unmount it first`);
    expect(res.stderr).toContain(`  - ${partitioned.path} has a DOS (MBR) partition table with 1 partition`);
    expect(res.stderr).toContain(
      'Only if you are sure, pool add --force takes them; pool add --force would destroy:',
    );
    expect(res.stderr).toMatch(/\(ERR_UNSAFE_DEVICE\)\n$/);
    const pools = await agent.ctl<Array<{ name: string }>>('pool', 'list');
    expect(pools.map((p) => p.name)).not.toContain('bad');
  });

  it('--force takes the formatted device, printing what is lost, with an audit line in the log', async () => {
    const dev = lab.create();
    execFileSync('mkfs.ext4', ['-q', '-L', 'olddata', dev.path]);
    const res = await agent.ctlRaw('pool', 'add', 'forced', '--device', dev.path, '--force');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      new RegExp(
        `^${dev.path}: pool add --force would destroy:\\n  - the ext4 filesystem on ${dev.path} \\(UUID [0-9a-f-]+, label "olddata"\\) and every file in it\\npool forced added: 64M free\\n$`,
      ),
    );
    expect(agent.output()).toContain(
      `audit: pool add forced --force took ${dev.path} despite: ${dev.path} carries an ext4`,
    );
    const added = (await agent.ctlRaw('events')).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; pool?: string; forced?: Array<{ device: string }> })
      .find((e) => e.type === 'pool.added' && e.pool === 'forced');
    expect(added?.forced?.map((f) => f.device)).toEqual([dev.path]);
    // The device is now in pool "forced": a second pool may not take it.
    const again = await agent.ctlRaw('pool', 'add', 'twice', '--device', dev.path);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('already belongs to pool forced');
    await agent.ctl('pool', 'remove', 'forced');
  });

  it('refuses a device through another name when another pool has it', async () => {
    const dev = lab.create();
    await agent.ctl('pool', 'add', 'first', '--device', dev.path);
    const link = join(lab.dir, 'by-id-link');
    execFileSync('ln', ['-s', dev.path, link]);
    const res = await agent.ctlRaw('pool', 'add', 'second', '--device', link);
    expect(res.code).toBe(12);
    expect(res.stderr).toContain(
      `${link} (${dev.path}) is already in pool "first"; remove it from that pool first`,
    );
    await agent.ctl('pool', 'remove', 'first');
  });

  it('refuses a dir pool on a nearly full or read-only filesystem', async () => {
    const small = lab.create();
    execFileSync('mkfs.ext4', ['-q', small.path]);
    const target = lab.mount(small.path);
    const full = await agent.ctlRaw('pool', 'add', 'tiny', '--dir', join(target, 'pool'));
    expect(full.code).toBe(5);
    expect(full.stderr).toMatch(
      /is on a nearly full ext4 filesystem mounted at .*: [\d.]+M free of [\d.]+M .*needs at least 256\.0M and 1% free \(ERR_NO_SPACE\)/,
    );
    lab.unmount(target);
    const ro = lab.mount(small.path, ['-o', 'ro']);
    const readOnly = await agent.ctlRaw('pool', 'add', 'ro', '--dir', ro);
    expect(readOnly.code).not.toBe(0);
    expect(readOnly.stderr).toContain(`${ro} is on a read-only ext4 filesystem mounted at ${ro}`);
  });
});

describe('dir pool LV files', () => {
  it('are created with mode 0600', async () => {
    const dir = join(agent.dir, 'pool-mode');
    mkdirSync(dir);
    await agent.ctl('pool', 'add', 'modes', '--dir', dir);
    await agent.ctl('volume', 'create', 'secret', '--size', '4M', '--pool', 'modes');
    await agent.ctl('lv', 'create', 'modes', 'plain', '--size', '4M');
    expect(statSync(join(dir, 'secret.img')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'plain.img')).mode & 0o777).toBe(0o600);
  });
});
