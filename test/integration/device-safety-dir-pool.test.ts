// checkDirPool on real filesystems: a folder on /, a small ext4 on a loop device (nearly full by
// Ferry's rule), the same mounted read-only, and one filled past 99%.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkDirPool } from '../../agent/safety/dir-pool-check.js';
import { FerryError } from '../../shared/errors.js';
import { LoopLab, loopDevicesUnavailable } from '../helpers/loop-device.js';

const MiB = 1024 * 1024;

async function errorOf(promise: Promise<unknown>): Promise<FerryError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FerryError) return err;
    throw err;
  }
  throw new Error('expected a FerryError');
}

describe('checkDirPool on ordinary folders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-dirpool-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fs = statfsSync(dir);
  const roomy = fs.bavail * fs.bsize >= 256 * MiB && fs.bavail >= fs.blocks * 0.01;
  if (!roomy)
    console.warn(`device-safety-dir-pool: roomy-folder cases skipped: ${tmpdir()} has too little free space`);

  it.skipIf(!roomy)('accepts a writable folder with room, and reports its filesystem', async () => {
    const result = await checkDirPool(dir);
    expect(result.path).toBe(dir);
    expect(result.totalBytes).toBe(fs.blocks * fs.bsize);
    expect(result.freeBytes).toBeGreaterThanOrEqual(256 * MiB);
    expect(result.mountPoint).toBeDefined();
    expect(result.fsType).toBeDefined();
  });

  it.skipIf(!roomy)('follows a symlink to the folder and leaves nothing behind', async () => {
    const real = join(dir, 'real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'link'));
    expect((await checkDirPool(join(dir, 'link'))).path).toBe(real);
    expect(execFileSync('ls', ['-A', real], { encoding: 'utf8' })).toBe('');
  });

  it('refuses a missing folder, a file and a block device with what to do', async () => {
    const missing = await errorOf(checkDirPool(join(dir, 'nope')));
    expect(missing.code).toBe('ERR_NOT_FOUND');
    expect(missing.message).toBe(
      `${join(dir, 'nope')} does not exist; create the folder first (mkdir -p ${join(dir, 'nope')})`,
    );
    writeFileSync(join(dir, 'file'), '');
    expect((await errorOf(checkDirPool(join(dir, 'file')))).message).toBe(
      `${join(dir, 'file')} is not a folder`,
    );
  });
});

const unavailable = loopDevicesUnavailable();
if (unavailable) console.warn(`device-safety-dir-pool: loop cases skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('checkDirPool on small filesystems', () => {
  let lab: LoopLab;
  beforeAll(() => {
    lab = new LoopLab();
  });
  afterEach(() => {
    lab.cleanup();
    lab = new LoopLab();
  });
  afterAll(() => lab.cleanup());

  function smallExt4(sizeMiB = 64): string {
    const dev = lab.create({ sizeMiB });
    execFileSync('mkfs.ext4', ['-q', '-m', '0', dev.path]);
    return dev.path;
  }

  it('refuses a filesystem with less than 256 MiB free, with the figures', async () => {
    const target = lab.mount(smallExt4());
    const err = await errorOf(checkDirPool(target));
    expect(err.code).toBe('ERR_NO_SPACE');
    expect(err.message).toMatch(
      new RegExp(
        `^${target} is on a nearly full ext4 filesystem mounted at ${target}: \\d+\\.\\dM free of \\d+\\.\\dM \\(\\d+\\.\\d%\\); a dir pool needs at least 256\\.0M and 1% free$`,
      ),
    );
    expect(err.details).toMatchObject({ path: target });
  });

  it('refuses a filesystem with less than 1% free even when the bytes would do', async () => {
    const target = lab.mount(smallExt4());
    const accepted = await checkDirPool(target, { minFreeBytes: MiB });
    // Leave about half a percent free.
    const fill = accepted.freeBytes - Math.floor(accepted.totalBytes * 0.005);
    execFileSync('fallocate', ['-l', String(fill), join(target, 'filler')]);
    const err = await errorOf(checkDirPool(target, { minFreeBytes: MiB }));
    expect(err.code).toBe('ERR_NO_SPACE');
    expect(err.message).toMatch(/free of .* \(0\.\d%\); a dir pool needs at least 1\.0M and 1% free$/);
  });

  it('refuses a read-only filesystem', async () => {
    const target = lab.mount(smallExt4(), ['-o', 'ro']);
    const err = await errorOf(checkDirPool(target, { minFreeBytes: MiB }));
    expect(err.code).toBe('ERR_INVALID_ARGUMENT');
    expect(err.message).toBe(
      `${target} is on a read-only ext4 filesystem mounted at ${target}; remount it read-write or pick another folder`,
    );
  });

  it('accepts the same small filesystem with a lower threshold, in a subfolder', async () => {
    const target = lab.mount(smallExt4());
    const sub = join(target, 'pool');
    mkdirSync(sub);
    const result = await checkDirPool(sub, { minFreeBytes: MiB });
    expect(result).toMatchObject({ path: sub, mountPoint: target, fsType: 'ext4' });
  });
});
