// Moves driven through `ferry-agent ctl` on real agents: kill -9 of the front agent mid-copy (the
// restarted agent resumes from its checkpoint by itself), abort (the vv stays as it was), a local
// move with --verify, and bad inputs that must be refused with clear errors and change nothing.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  fio,
  fioArgs,
  type LabAgent,
  type MoveJson,
  moveLabPerTest,
  qemuIo,
  type VolumeJson,
  waitForMove,
} from '../helpers/move-lab.js';

const MiB = 1024 * 1024;
const run = promisify(execFile);
const newLab = moveLabPerTest();

/** Front with vol1 (256 MiB of 0xab), back with an exported empty LV pb/t1. */
function twoAgents(targetSize = '256M') {
  return newLab().remotePair('256M', targetSize);
}

async function volume(front: LabAgent): Promise<VolumeJson> {
  const [v] = await front.ctl<VolumeJson[]>('volume', 'list');
  return v;
}

describe('moves through ctl', () => {
  it('resumes by itself after kill -9 of the front agent mid-copy; what was written verifies', async () => {
    const { front, to } = await twoAgents();
    const job = fioArgs(front.url('vol1'), '32M', '16M');
    const written = await fio([...job, '--do_verify=0']);
    expect(written.code, written.output).toBe(0);
    const { id } = await front.ctl<MoveJson>('move', 'start', 'vol1', ...to, '--throttle', '48M');
    const before = await waitForMove(front, id, (m) => m.copiedBytes >= 96 * MiB);
    await front.kill('SIGKILL');
    await front.start();
    const resumed = await front.ctl<MoveJson>('move', 'status', id);
    expect(['copying', 'degraded', 'cutover', 'done']).toContain(resumed.phase);
    // From its checkpoint (taken at least every second), not from the start.
    expect(resumed.copiedBytes).toBeGreaterThanOrEqual(before.copiedBytes - 64 * MiB);
    expect(resumed.copiedBytes).toBeGreaterThan(0);
    const done = await waitForMove(front, id, (m) => m.phase === 'done' || m.phase === 'failed');
    expect(done.phase).toBe('done');
    expect(await volume(front)).toMatchObject({ epoch: 2, mapping: { kind: 'remote' } });
    const verify = await fio([...job, '--verify_only']);
    expect(verify.code, verify.output).toBe(0);
    await qemuIo(front.url('vol1'), 'read -P 0xab 0 32M', 'read -P 0xab 48M 208M');
  });

  it('abort mid-copy leaves the vv on its source, unchanged, with its data', async () => {
    const { front, to } = await twoAgents();
    const { id } = await front.ctl<MoveJson>('move', 'start', 'vol1', ...to, '--throttle', '32M');
    await waitForMove(front, id, (m) => m.copiedBytes >= 32 * MiB);
    await qemuIo(front.url('vol1'), 'write -P 0x5a 8M 1M');
    const aborted = await front.ctl<MoveJson>('move', 'abort', id);
    expect(aborted.phase).toBe('aborted');
    expect(await volume(front)).toMatchObject({
      epoch: 1,
      mapping: { kind: 'local', pool: 'pa', lv: 'vol1' },
    });
    await qemuIo(front.url('vol1'), 'write -P 0x6b 200M 1M');
    await qemuIo(front.url('vol1'), 'read -P 0xab 0 8M', 'read -P 0x5a 8M 1M', 'read -P 0x6b 200M 1M');
    const again = await front.ctlRaw('move', 'abort', id);
    expect(again.code).toBe(13);
    expect(again.stderr).toMatch(/ERR_MOVE_STATE/);
    const list = await front.ctl<MoveJson[]>('move', 'list');
    expect(list.map((m) => m.phase)).toEqual(['aborted']);
  });

  it('pause keeps the mirror on, resume and throttle go on; progress events stay under 4 per second', async () => {
    const { front, to } = await twoAgents();
    const { id } = await front.ctl<MoveJson>('move', 'start', 'vol1', ...to, '--throttle', '32M');
    await waitForMove(front, id, (m) => m.copiedBytes >= 32 * MiB);
    const paused = await front.ctl<MoveJson>('move', 'pause', id);
    expect(paused.paused).toBe(true);
    await new Promise((r) => setTimeout(r, 300)); // chunks already being copied may still land
    const still = await front.ctl<MoveJson>('move', 'status', id);
    // Host writes behind the cursor are still mirrored while paused.
    await qemuIo(front.url('vol1'), 'write -P 0x3c 0 1M');
    await new Promise((r) => setTimeout(r, 1000));
    const later = await front.ctl<MoveJson>('move', 'status', id);
    expect(later.copiedBytes).toBe(still.copiedBytes);
    expect(later.mirroredWrites).toBeGreaterThan(still.mirroredWrites);
    expect((await front.ctl<MoveJson>('move', 'resume', id)).paused).toBe(false);
    await front.ctl('move', 'throttle', id, '0');
    expect((await waitForMove(front, id, (m) => m.phase === 'done' || m.phase === 'failed')).phase).toBe(
      'done',
    );
    await qemuIo(front.url('vol1'), 'read -P 0x3c 0 1M', 'read -P 0xab 1M 255M');
    const listed = await front.ctlRaw('--json', 'events'); // JSON lines
    const events = listed.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { type: string; move?: string; time: string; phase?: string })
      .filter((e) => e.type === 'move.progress' && e.move === id);
    expect(events.length).toBeGreaterThan(3);
    expect(events[events.length - 1].phase).toBe('done');
    const times = events.map((e) => Date.parse(e.time));
    for (let i = 4; i < times.length; i++) expect(times[i] - times[i - 4]).toBeGreaterThanOrEqual(950);
  });

  it('moves to an LV of a local pool with --verify and --keep-source', async () => {
    const lab = newLab();
    const front = await lab.agent('front');
    await front.ctl('pool', 'add', 'pa', '--dir', `${front.dir}/pool-a`);
    await front.ctl('pool', 'add', 'pc', '--dir', `${front.dir}/pool-c`);
    await front.ctl('volume', 'create', 'vol1', '--size', '64M', '--pool', 'pa');
    await qemuIo(front.url('vol1'), 'write -P 0xab 0 40M');
    const { id } = await front.ctl<MoveJson>(
      'move',
      'start',
      'vol1',
      '--to',
      'pc/vol1-new',
      '--verify',
      '--keep-source',
    );
    const done = await waitForMove(front, id, (m) => m.phase === 'done' || m.phase === 'failed');
    expect(done.phase).toBe('done');
    expect(await volume(front)).toMatchObject({
      epoch: 2,
      mapping: { kind: 'local', pool: 'pc', lv: 'vol1-new' },
    });
    await qemuIo(front.url('vol1'), 'read -P 0xab 0 40M', 'read -P 0 40M 24M');
    const lvs = await front.ctl<Array<{ pool: string; name: string }>>('lv', 'list');
    expect(lvs.map((l) => `${l.pool}/${l.name}`).sort()).toEqual(['pa/vol1', 'pc/vol1-new']);
  });

  it('refuses bad inputs with clear errors and changes nothing', async () => {
    const { front, back, key, to } = await twoAgents('128M');
    const refuse = async (code: number, pattern: RegExp, ...args: string[]) => {
      const res = await front.ctlRaw('move', 'start', ...args);
      expect(res.code, res.stderr).toBe(code);
      expect(res.stderr).toMatch(pattern);
    };
    await refuse(3, /volume nope does not exist.*ERR_NOT_FOUND/s, 'nope', ...to);
    await refuse(14, /128.0M.*256.0M|too small|ERR_TARGET_TOO_SMALL/s, 'vol1', ...to);
    const wrongKey = randomBytes(32).toString('hex');
    const badPsk = await front.ctlRaw('move', 'start', 'vol1', ...to.slice(0, 4), '--psk-key', wrongKey);
    expect(badPsk.code).not.toBe(0);
    expect(badPsk.stderr).toMatch(/ERR_(TLS|AUTH|UNREACHABLE)/);
    await refuse(7, /epoch 1.*expected epoch 5.*ERR_STALE_EPOCH/s, 'vol1', ...to, '--epoch', '5');
    await refuse(2, /nbds:\/\//, 'vol1', '--to', back.url('pb/t1'));
    await refuse(2, /missing --psk-key/, 'vol1', '--to', back.url('pb/t1', 'nbds'), '--psk-identity', 'x');
    // A second move of the same vv while one runs.
    await back.ctl('lv', 'create', 'pb', 't2', '--size', '256M');
    await back.ctl('lv', 'export', 'pb', 't2', '--psk-identity', 'move-t2', '--psk-key', key);
    const t2 = ['--to', back.url('pb/t2', 'nbds'), '--psk-identity', 'move-t2', '--psk-key', key];
    const { id } = await front.ctl<MoveJson>('move', 'start', 'vol1', ...t2, '--throttle', '16M');
    await refuse(6, /already moving.*ERR_VOLUME_BUSY/s, 'vol1', ...t2);
    const unexport = await back.ctlRaw('lv', 'delete', 'pb', 't2');
    expect(unexport.code).not.toBe(0);
    expect((await front.ctl<MoveJson>('move', 'abort', id)).phase).toBe('aborted');
    expect(await volume(front)).toMatchObject({
      epoch: 1,
      mapping: { kind: 'local', pool: 'pa', lv: 'vol1' },
    });
    const moves = await front.ctl<MoveJson[]>('move', 'list');
    expect(moves.map((m) => m.phase)).toEqual(['aborted']);
    await qemuIo(front.url('vol1'), 'read -P 0xab 0 256M');

    // The LV export is TLS-PSK only: a plaintext client and another identity are refused.
    const plain = await run('nbdinfo', [back.url('pb/t1')]).then(
      () => 'opened',
      (err: { stderr?: string }) => err.stderr ?? 'refused',
    );
    expect(plain).not.toBe('opened');
    const pskFile = join(back.dir, 'psk.txt');
    writeFileSync(pskFile, `move-t1:${key}\nmove-t2:${key}\n`, { mode: 0o600 });
    const tls = (id: string) => `nbds://${id}@127.0.0.1:${back.port}/pb/t1?tls-psk-file=${pskFile}`;
    const { stdout } = await run('nbdinfo', ['--size', tls('move-t1')]);
    expect(stdout.trim()).toBe(String(128 * MiB));
    await expect(run('nbdinfo', ['--size', tls('move-t2')])).rejects.toThrow();
    await back.ctl('lv', 'unexport', 'pb', 't1');
    await expect(run('nbdinfo', ['--size', tls('move-t1')])).rejects.toThrow();
    const gone = await back.ctlRaw('lv', 'unexport', 'pb', 't1');
    expect(gone.code).toBe(3);
  });
});
