// A vv of 256 MiB filled with known data moves to an LV on another agent (NBD over TLS-PSK) while
// fio writes to it; the target agent is killed (-9) mid-copy and comes back. fio sees no error, the
// move reports degraded, then completes; the mapping is the target with epoch + 1, and fio's
// verify pass and the known data check out through the vv.
import { describe, expect, it } from 'vitest';
import {
  fio,
  fioArgs,
  type MoveJson,
  moveLabPerTest,
  qemuIo,
  type VolumeJson,
  waitForMove,
} from '../helpers/move-lab.js';

const newLab = moveLabPerTest();

describe('move to another agent under fio', () => {
  it('survives kill -9 of the target agent mid-copy and ends on the target with epoch + 1', async () => {
    const { front, back, vv, target, to } = await newLab().remotePair('256M');

    // fio writes 32 MiB at 8 MiB/s (4 s) for the whole copy, crc32c headers for the verify pass.
    const job = fioArgs(vv, '64M', '32M');
    const writing = fio([...job, '--do_verify=0', '--rate=8m']);
    const started = await front.ctl<MoveJson>(
      'move',
      'start',
      'vol1',
      ...to,
      '--throttle',
      '48M',
      // The copy must pass fio's region while fio writes (mirrored writes to a dying target), not
      // yield to it as it does by default.
      '--busy-throttle',
      '0',
    );
    await waitForMove(front, started.id, (m) => m.copiedBytes >= 64 * 1024 * 1024);
    await back.kill('SIGKILL');
    const degraded = await waitForMove(front, started.id, (m) => m.phase === 'degraded');
    expect(degraded.dirtyBytes).toBeGreaterThanOrEqual(0);
    await new Promise((r) => setTimeout(r, 500));
    await back.start();
    const done = await waitForMove(
      front,
      started.id,
      (m) => m.phase === 'done' || m.phase === 'failed',
      90_000,
    );
    expect(done.phase).toBe('done');
    expect(done.cutoverPauseMs).not.toBeNull();
    expect(done.mirroredWrites).toBeGreaterThan(0);

    const written = await writing;
    expect(written.code, written.output).toBe(0);
    expect(written.output).toMatch(/err= 0/);
    const [volume] = await front.ctl<VolumeJson[]>('volume', 'list');
    expect(volume).toMatchObject({ name: 'vol1', epoch: 2, mapping: { kind: 'remote', url: target } });
    // The source LV went back to its pool (no --keep-source).
    expect(await front.ctl<unknown[]>('lv', 'list')).toEqual([]);

    const verify = await fio([...job, '--verify_only']);
    expect(verify.code, verify.output).toBe(0);
    expect(verify.output).toMatch(/err= 0/);
    await qemuIo(vv, 'read -P 0xab 0 64M', 'read -P 0xab 96M 160M');

    // After cutover the vv is an ordinary remote mapping: a host request waits out a restart of
    // the target agent instead of failing.
    await back.kill('SIGKILL');
    const reading = qemuIo(vv, 'read -P 0xab 200M 1M');
    await new Promise((r) => setTimeout(r, 1000));
    await back.start();
    await reading;

    // Stopping this agent while the target agent is down does not wait out the remote I/O timeout
    // (60 s): the host's waiting read fails and the agent exits 0 (it waited the 60 s before).
    await back.kill('SIGKILL');
    const stuck = qemuIo(vv, 'read -P 0xab 300M 1M').then(
      () => 'read',
      () => 'failed',
    );
    await new Promise((r) => setTimeout(r, 500));
    const stopping = Date.now();
    expect(await front.kill('SIGTERM')).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(30_000);
    expect(await stuck).toBe('failed');
  });
});
