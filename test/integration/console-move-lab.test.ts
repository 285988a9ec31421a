// Orchestrated moves through the console core against a real local lab: two agents as processes,
// real NBD hosts (qemu-io, the agent's host-writer), bytes checked after the move.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { getVolumeAccess, setVolumeAccess } from '../../main/core/console/volume-access.js';
import { startHostWriter } from '../../main/core/lab/host-writer-process.js';
import { lvList } from '../../shared/rpc/lvs.js';
import { moveList } from '../../shared/rpc/moves.js';
import { REPO_ROOT } from '../helpers/agent-bundle.js';
import { type ConsoleLab, qemuIo, startConsoleLab } from '../helpers/console-lab.js';

const MiB = 1024 * 1024;

describe('console: orchestrated move in the local lab', () => {
  let lab: ConsoleLab | undefined;
  afterEach(async () => {
    await lab?.destroy();
    lab = undefined;
  });

  it('moves a volume to the other appliance: data intact, mapping and epoch committed, source released', async () => {
    lab = await startConsoleLab();
    const { core } = lab;
    await core.createVolume({ name: 'vol', size: 96 * MiB, on: { appliance: 'lab-1', pool: 'pool' } });
    const url = lab.volumeUrl('vol');
    await qemuIo(url, ['write -P 0x11 0 1M', 'write -P 0x22 50M 3M', 'write -P 0x33 95M 1M']);

    const started = await core.moves.start({
      volume: 'vol',
      to: { appliance: 'lab-2', pool: 'pool' },
      throttleBps: null,
      verify: true,
      keepSource: false,
    });
    const seen: number[] = [];
    const final = await core.moves.follow(started.id, (m) => seen.push(m.percent));
    expect(final.phase).toBe('done');
    expect(final.cutoverPauseMs).not.toBeNull();

    // The host keeps the same export; its bytes are the same.
    await qemuIo(url, [
      'read -P 0x11 0 1M',
      'read -P 0x22 50M 3M',
      'read -P 0x33 95M 1M',
      'read -P 0 1M 49M',
    ]);

    const volume = core.inventory().volumes.find((v) => v.name === 'vol')!;
    expect(volume).toMatchObject({ appliance: 'lab-2', pool: 'pool', epoch: 2, state: 'ready' });
    expect(core.volumeHistory('vol').epochs.map((e) => [e.epoch, e.appliance])).toEqual([
      [1, 'lab-1'],
      [2, 'lab-2'],
    ]);
    const source = await (await core.links.get('lab-1')).call(lvList, {});
    expect(source.lvs.map((l) => l.name)).not.toContain('vol');
  });

  it('keeps a writing host error-free during the move and every block verifies', async () => {
    lab = await startConsoleLab();
    const { core } = lab;
    await core.createVolume({ name: 'busy', size: 128 * MiB, on: { appliance: 'lab-1', pool: 'pool' } });
    const host = await startHostWriter(lab.volumeUrl('busy'), { fill: true, depth: 4 });
    const started = await core.moves.start({
      volume: 'busy',
      to: { appliance: 'lab-2', pool: 'pool' },
      throttleBps: 64 * MiB,
      busyThrottleBps: 32 * MiB, // hosts first, but faster than the default 16 MiB/s
      verify: false,
      keepSource: true,
    });
    const [onAgent] = (await (await core.links.get('lab-1')).call(moveList, {})).moves;
    expect(onAgent.options).toMatchObject({ throttle: 64 * MiB, busyThrottle: 32 * MiB });
    const final = await core.moves.follow(started.id);
    const result = await host.stop();
    expect(final.phase).toBe('done');
    expect(result.errors).toBe(0);
    expect(result.writes).toBeGreaterThan(0);
    expect(result.mismatches).toBe(0);
    expect(result.verifiedBlocks).toBe(host.ready.blocks);
    // --keep-source: the old LV is still there, unmapped.
    const source = await (await core.links.get('lab-1')).call(lvList, {});
    expect(source.lvs.find((l) => l.name === 'busy')?.mappedBy ?? null).toBeNull();
  });

  it('refuses bad moves with clear errors and changes nothing', async () => {
    lab = await startConsoleLab({ poolSize: 256 * MiB });
    const { core } = lab;
    await core.createVolume({ name: 'big', size: 200 * MiB, on: { appliance: 'lab-1', pool: 'pool' } });
    await core.createVolume({ name: 'filler', size: 100 * MiB, on: { appliance: 'lab-2', pool: 'pool' } });
    const move = (volume: string, appliance: string) =>
      core.moves.start({
        volume,
        to: { appliance, pool: 'pool' },
        throttleBps: null,
        verify: false,
        keepSource: false,
      });
    await expect(move('nope', 'lab-2')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(move('big', 'lab-2')).rejects.toMatchObject({
      code: 'ERR_NO_SPACE',
      message: expect.stringMatching(/lacks/),
    });
    await expect(move('big', 'lab-1')).rejects.toThrow(/already on lab-1\/pool/);
    await expect(move('big', 'lab-9')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(core.moves.list().every((m) => m.phase !== 'copying')).toBe(true);
    expect(core.inventory().volumes.find((v) => v.name === 'big')).toMatchObject({
      appliance: 'lab-1',
      epoch: 1,
    });
  });

  it('a console killed mid-move and started again finishes the bookkeeping', async () => {
    lab = await startConsoleLab();
    await lab.core.createVolume({ name: 'crash', size: 128 * MiB, on: { appliance: 'lab-1', pool: 'pool' } });
    await qemuIo(lab.volumeUrl('crash'), ['write -P 0x5a 0 128M']);
    // A throttled move followed by a console process that is then killed with SIGKILL mid-copy.
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin', 'ferry.mjs'),
        'move',
        'crash',
        '--to',
        'lab-2/pool',
        '--throttle',
        '32M',
        '--json',
        '--store',
        lab.storePath,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const id = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const msg = JSON.parse(line);
        if (msg.type === 'move.progress' && msg.move.percent > 5) resolve(msg.move.id);
      });
      child.once('exit', (code) => reject(new Error(`ferry move exited early (${code})`)));
    });
    child.kill('SIGKILL');
    const midway = await lab.ferry(['move', 'status', id, '--json']);
    expect(JSON.parse(midway.stdout).phase).toMatch(/copying|preparing/);
    const followed = await lab.ferry(['move', 'status', id, '--follow', '--json'], { timeoutMs: 120_000 });
    expect(followed.code, followed.stderr).toBe(0);
    const inventory = JSON.parse((await lab.ferry(['inventory', '--json'])).stdout);
    expect(inventory.volumes.find((v: { name: string }) => v.name === 'crash')).toMatchObject({
      appliance: 'lab-2',
      epoch: 2,
    });
    await qemuIo(lab.volumeUrl('crash'), ['read -P 0x5a 0 128M']);
  });

  it('access rules set from the console stay with the volume through a move', async () => {
    lab = await startConsoleLab();
    const { core } = lab;
    await core.createVolume({ name: 'guarded', size: 32 * MiB, on: { appliance: 'lab-1', pool: 'pool' } });
    const url = lab.volumeUrl('guarded');
    await qemuIo(url, ['write -P 0x42 0 1M']);
    await setVolumeAccess(core.store, core.links, 'guarded', { allow: ['127.0.0.1/32'], readOnly: true });
    const started = await core.moves.start({
      volume: 'guarded',
      to: { appliance: 'lab-2', pool: 'pool' },
      throttleBps: null,
      verify: false,
      keepSource: false,
    });
    expect((await core.moves.follow(started.id)).phase).toBe('done');
    const { policy } = await getVolumeAccess(core.store, core.links, 'guarded');
    expect(policy).toMatchObject({ allow: ['127.0.0.1/32'], readOnly: true });
    await qemuIo(url, ['read -P 0x42 0 1M'], { readOnly: true });
    // A read-only export refuses a writer: qemu cannot even open it for writing.
    await expect(qemuIo(url, ['write -P 0x43 0 4k'])).rejects.toThrow(
      /Permission denied|Operation not permitted/,
    );
    expect(core.store.audit.list({ subject: 'guarded' }).some((e) => e.action === 'volume.access')).toBe(
      true,
    );
  });
});
