// The copy yields to hosts: while fio writes to the vv, the move copies at most at its busy rate
// (--busy-throttle); `move throttle --busy-throttle 0` lifts the cap at once and the move completes
// while fio goes on. fio's writes and the data written before the move verify afterwards.
import { describe, expect, it } from 'vitest';
import { fio, fioArgs, type MoveJson, moveLabPerTest, qemuIo, waitForMove } from '../helpers/move-lab.js';

const MiB = 1024 * 1024;

const newLab = moveLabPerTest();

describe('move while hosts are busy', () => {
  it('copies at the busy rate while fio writes, and at full speed once the cap is lifted', async () => {
    const lab = newLab();
    const front = await lab.agent('front');
    await front.ctl('pool', 'add', 'pa', '--dir', `${front.dir}/pa`);
    await front.ctl('pool', 'add', 'pb', '--dir', `${front.dir}/pb`);
    await front.ctl('volume', 'create', 'vol1', '--size', '128M', '--pool', 'pa');
    const vv = front.url('vol1');
    await qemuIo(vv, 'write -P 0x5c 0 128M');

    // fio writes each block of the last 16 MiB once, slowly (about 8 s): the host is busy, the
    // machine is not.
    const job = [...fioArgs(vv, '112M', '16M'), '--iodepth=1', '--rate_iops=500'];
    const writing = fio([...job, '--do_verify=0']);
    await new Promise((r) => setTimeout(r, 300)); // fio is connected and writing
    const busyRate = 4 * MiB;
    const started = await front.ctl<MoveJson & { options: { busyThrottle: number | null } }>(
      'move',
      'start',
      'vol1',
      '--to',
      'pb/t1',
      '--busy-throttle',
      '4M',
    );
    expect(started.options.busyThrottle).toBe(busyRate);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 2000));
    const during = await waitForMove(front, started.id, () => true);
    const seconds = (performance.now() - t0) / 1000;
    // At most the busy rate, plus what was in flight when the cap took hold (4 chunks of 4 MiB), the
    // chunk taken at that moment, one chunk of overdraft (a taker pays after) and the start-up before
    // `t0` (the ctl call): a slow machine only copies less. Uncapped, all 128 MiB would be copied.
    expect(during.copiedBytes).toBeLessThanOrEqual(busyRate * (seconds + 1) + 24 * MiB);
    expect(during.phase).toBe('copying');
    expect(during.hostsFirst).toBe(true); // what an admin sees: the copy yields to the host

    await front.ctl('move', 'throttle', started.id, '--busy-throttle', '0');
    const done = await waitForMove(front, started.id, (m) => m.phase === 'done' || m.phase === 'failed');
    expect(done.phase).toBe('done');
    const status = await front.ctl<{ options: { busyThrottle: number | null } }>(
      'move',
      'status',
      started.id,
    );
    expect(status.options.busyThrottle).toBeNull();
    expect(done.hostsFirst).toBe(false);

    const written = await writing;
    expect(written.code, written.output).toBe(0);
    expect(written.output).toMatch(/err= 0/);
    const verify = await fio([...job, '--verify_only']);
    expect(verify.code, verify.output).toBe(0);
    await qemuIo(vv, 'read -P 0x5c 0 112M');
  });

  it('refuses a bad busy rate and a throttle call that names no rate', async () => {
    const lab = newLab();
    const front = await lab.agent('front');
    await front.ctl('pool', 'add', 'pa', '--dir', `${front.dir}/pa`);
    await front.ctl('volume', 'create', 'vol1', '--size', '8M', '--pool', 'pa');
    const bad = await front.ctlRaw('move', 'start', 'vol1', '--to', 'pa/t1', '--busy-throttle', 'fast');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/fast/);
    const none = await front.ctlRaw('move', 'throttle', 'm-00000000');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/--busy-throttle RATE or both/);
    expect(await front.ctl<unknown[]>('move', 'list')).toEqual([]);
  });
});
