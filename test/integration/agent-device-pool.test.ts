// A device pool over loop devices: sizes come from sysfs, an LV is one whole device (best fit),
// space is refused up front with the figures, and a vv on a device serves real I/O.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgent } from '../helpers/agent-process.js';

const MiB = 1024 * 1024;
let agent: AgentProcess;
const loops: string[] = [];
let skipReason: string | undefined;

beforeAll(async () => {
  agent = await startAgent();
  for (const size of [16, 32]) {
    const file = `${agent.dir}/disk${size}.img`;
    execFileSync('truncate', ['-s', `${size}M`, file]);
    const res = spawnSync('losetup', ['--find', '--show', file], { encoding: 'utf8' });
    if (res.status !== 0) {
      skipReason = `losetup failed (${res.stderr.trim()}): loop devices unavailable here`;
      return;
    }
    loops.push(res.stdout.trim());
  }
});

afterAll(async () => {
  await agent?.stop();
  for (const loop of loops) spawnSync('losetup', ['-d', loop]);
});

interface PoolJson {
  name: string;
  size: number;
  used: number;
  free: number;
}

describe('device pool', () => {
  it('accounts whole devices, picks the best fit and serves I/O on the device', async (ctx) => {
    if (skipReason) {
      console.warn(`skipped: ${skipReason}`);
      ctx.skip();
    }
    const [small, large] = loops;
    const pool = await agent.ctl<PoolJson>('pool', 'add', 'dp', '--device', `${small},${large}`);
    expect(pool).toMatchObject({ name: 'dp', size: 48 * MiB, used: 0, free: 48 * MiB });

    const vv = await agent.ctl<{ mapping: { lv: string } }>(
      'volume',
      'create',
      'big',
      '--size',
      '20M',
      '--pool',
      'dp',
    );
    const lvs = await agent.ctl<Array<{ name: string; path: string; size: number; mappedBy: string }>>(
      'lv',
      'list',
      'dp',
    );
    expect(lvs).toEqual([
      expect.objectContaining({ name: 'big', path: large, size: 32 * MiB, mappedBy: 'big' }),
    ]);
    expect(vv.mapping.lv).toBe('big');

    const refused = await agent.ctlRaw('volume', 'create', 'other', '--size', '20M', '--pool', 'dp');
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/largest free device has 16777216 bytes.*\(ERR_NO_SPACE\)/);

    const again = await agent.ctlRaw('pool', 'add', 'dp2', '--device', small);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/already belongs to pool dp/);

    // A device keeps what it held: its new LV is not said to read as zeroes, so a move into it
    // writes the volume's zero regions.
    const raw = await agent.ctl<{ path: string; readsAsZero?: boolean }>(
      'lv',
      'create',
      'dp',
      'raw',
      '--size',
      '8M',
    );
    expect(raw).toMatchObject({ path: small, readsAsZero: false });
    await agent.ctl('lv', 'delete', 'dp', 'raw');

    execFileSync('qemu-io', ['-f', 'raw', '-c', 'write -P 0x3c 1M 64k', '-c', 'flush', agent.nbdUrl('big')]);
    const fd = openSync(large, 'r');
    const back = Buffer.alloc(64 * 1024);
    readSync(fd, back, 0, back.length, MiB);
    closeSync(fd);
    expect(back.every((b) => b === 0x3c)).toBe(true);
    // The vv is 20M although its device is 32M: hosts see the vv's size.
    const info = execFileSync('nbdinfo', ['--size', agent.nbdUrl('big')], { encoding: 'utf8' });
    expect(Number(info.trim())).toBe(20 * MiB);

    expect((await agent.ctl<PoolJson[]>('pool', 'list'))[0]).toMatchObject({
      used: 32 * MiB,
      free: 16 * MiB,
    });
    await agent.ctl('volume', 'delete', 'big');
    await agent.ctl('pool', 'remove', 'dp');
    expect(await agent.ctl('pool', 'list')).toEqual([]);
  });
});
