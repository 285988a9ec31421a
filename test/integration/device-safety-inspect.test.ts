// inspectDevice on real loop devices: empty, formatted, mounted, partitioned, swap, stacked, busy,
// in another pool, and the machine's root disk. Skips with a printed reason where loop devices can
// not be used (no root, no losetup); where they work the tests run.
import { execFileSync } from 'node:child_process';
import { constants as fsConstants, readFileSync, symlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeLoss, inspectDevice } from '../../agent/safety/device-inspector.js';
import { FerryError } from '../../shared/errors.js';
import { LoopLab, loopDevicesUnavailable } from '../helpers/loop-device.js';

const unavailable = loopDevicesUnavailable();
if (unavailable) console.warn(`device-safety-inspect: skipped: ${unavailable}`);
const describeLoop = unavailable ? describe.skip : describe;

function blkid(device: string, tag: string): string {
  return execFileSync('blkid', ['-p', '-o', 'value', '-s', tag, device], { encoding: 'utf8' }).trim();
}

function codes(problems: Array<{ code: string }>): string[] {
  return problems.map((p) => p.code).sort();
}

async function errorOf(promise: Promise<unknown>): Promise<FerryError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FerryError) return err;
    throw err;
  }
  throw new Error('expected a FerryError');
}

describeLoop('inspectDevice on loop devices', () => {
  let lab: LoopLab;
  beforeAll(() => {
    lab = new LoopLab();
  });
  afterEach(() => {
    // Each test's devices are undone before the next, so a failure leaves nothing mounted behind.
    lab.cleanup();
    lab = new LoopLab();
  });
  afterAll(() => lab.cleanup());

  it('accepts an empty loop device', async () => {
    const dev = lab.create({ sizeMiB: 64 });
    const result = await inspectDevice(dev.path);
    expect(result).toMatchObject({ device: dev.path, sizeBytes: 64 * 1024 * 1024, problems: [] });
    expect(result.evidence).toContain('magic scan');
    expect(result.evidence).toContain('blkid');
  });

  it('follows a symlink such as /dev/disk/by-id/... to the device', async () => {
    const dev = lab.create();
    const link = join(lab.dir, 'by-id-ferry-test');
    symlinkSync(dev.path, link);
    expect((await inspectDevice(link)).device).toBe(dev.path);
  });

  it('refuses an ext4 filesystem, naming the device, the UUID and what --force destroys', async () => {
    const dev = lab.create();
    execFileSync('mkfs.ext4', ['-q', '-L', 'shopdata', dev.path]);
    const { problems } = await inspectDevice(dev.path);
    const uuid = blkid(dev.path, 'UUID');
    expect(problems).toEqual([
      {
        code: 'filesystem',
        message: `${dev.path} carries an ext4 filesystem (UUID ${uuid}, label "shopdata"); pool add --force would destroy it`,
        loss: `the ext4 filesystem on ${dev.path} (UUID ${uuid}, label "shopdata") and every file in it`,
      },
    ]);
    expect(describeLoss(problems)).toBe(
      `pool add --force would destroy:\n  - the ext4 filesystem on ${dev.path} (UUID ${uuid}, label "shopdata") and every file in it`,
    );
  });

  it('refuses a mounted device, naming the mount point', async () => {
    const dev = lab.create();
    execFileSync('mkfs.ext4', ['-q', dev.path]);
    const target = lab.mount(dev.path);
    const { problems } = await inspectDevice(dev.path);
    expect(codes(problems)).toEqual(['filesystem', 'mounted']);
    const mounted = problems.find((p) => p.code === 'mounted')!;
    expect(mounted.message).toBe(`${dev.path} is mounted at ${target} (ext4); unmount it first`);
    expect(describeLoss(problems)).toContain(`the ext4 filesystem mounted at ${target}, in use right now`);
  });

  it('refuses a device with a partition table', async () => {
    const dev = lab.create({
      prepareFile: (file) => execFileSync('sfdisk', ['-q', file], { input: 'label: dos\n,,L\n' }),
    });
    const { problems } = await inspectDevice(dev.path);
    expect(codes(problems)).toEqual(['partition-table']);
    expect(problems[0].message).toBe(
      `${dev.path} has a DOS (MBR) partition table with 1 partition (UUID ${blkid(dev.path, 'PTUUID')}); pool add --force would destroy the table and its partitions`,
    );
  });

  it('refuses a GPT disk', async () => {
    const dev = lab.create({
      prepareFile: (file) => execFileSync('sfdisk', ['-q', file], { input: 'label: gpt\n,8M\n,8M\n' }),
    });
    const { problems } = await inspectDevice(dev.path);
    expect(codes(problems)).toEqual(['partition-table']);
    expect(problems[0].message).toContain('has a GPT partition table with 2 partitions');
  });

  it('refuses a disk whose partition is mounted, and a partition of a disk in another pool', async () => {
    const dev = lab.create({
      prepareFile: (file) => execFileSync('sfdisk', ['-q', file], { input: 'label: dos\n,32M,L\n,,L\n' }),
    });
    const [part1, part2] = lab.addPartitions(dev.path);
    expect(part2).toBe(`${dev.path}p2`);
    execFileSync('mkfs.ext4', ['-q', part1]);
    const target = lab.mount(part1);
    const disk = await inspectDevice(dev.path);
    expect(codes(disk.problems)).toEqual(['mounted', 'partition-table']);
    expect(disk.problems.find((p) => p.code === 'mounted')!.message).toBe(
      `${dev.path} is mounted through ${part1} at ${target} (ext4); unmount it first`,
    );
    expect(disk.problems.find((p) => p.code === 'partition-table')!.message).toContain(
      `partitions ${part1}, ${part2}`,
    );
    // The free second partition is fine on its own, but not when its disk is in another pool.
    expect((await inspectDevice(part2)).problems).toEqual([]);
    const inPool = await inspectDevice(part2, { otherPoolDevices: [dev.path] });
    expect(inPool.problems.map((p) => p.message)).toEqual([
      `${part2} is already in another pool (overlapping ${dev.path}); remove it from that pool first`,
    ]);
  });

  it('refuses partitions the kernel knows even when the table is gone', async () => {
    const dev = lab.create({
      prepareFile: (file) => execFileSync('sfdisk', ['-q', file], { input: 'label: dos\n,,L\n' }),
    });
    const [part1] = lab.addPartitions(dev.path);
    const handle = await open(dev.path, 'r+');
    await handle.write(Buffer.alloc(512), 0, 512, 0);
    await handle.close();
    const { problems } = await inspectDevice(dev.path);
    expect(problems).toEqual([
      {
        code: 'partitions',
        message: `${dev.path} has partitions the kernel knows (${part1}); pool add --force would destroy them`,
        loss: `the partitions ${part1} and everything in them`,
      },
    ]);
  });

  it('refuses a device already in another pool, by any name', async () => {
    const dev = lab.create();
    const link = join(lab.dir, 'other-name');
    symlinkSync(dev.path, link);
    const plain = await inspectDevice(dev.path, { otherPoolDevices: ['/dev/does-not-exist', link] });
    expect(plain.problems).toEqual([
      {
        code: 'in-other-pool',
        message: `${dev.path} is already in another pool; remove it from that pool first`,
        loss: `the logical volumes of another pool on ${dev.path}`,
      },
    ]);
    const named = await inspectDevice(dev.path, { otherPoolDevices: [{ device: dev.path, pool: 'fast' }] });
    expect(named.problems[0].message).toBe(
      `${dev.path} is already in pool "fast"; remove it from that pool first`,
    );
    const other = lab.create();
    expect((await inspectDevice(other.path, { otherPoolDevices: [dev.path] })).problems).toEqual([]);
  });

  it('refuses active swap', async () => {
    const dev = lab.create();
    lab.swapOn(dev.path);
    const { problems } = await inspectDevice(dev.path);
    expect(codes(problems)).toEqual(['signature', 'swap-active']);
    expect(problems.find((p) => p.code === 'swap-active')!.message).toBe(
      `${dev.path} is in use as swap (${dev.path}); swapoff it first`,
    );
  });

  it('refuses a device that backs another loop device in use', async () => {
    const lower = lab.create();
    const upper = lab.attach(lower.path);
    const { problems } = await inspectDevice(lower.path);
    expect(codes(problems)).toEqual(['loop-backing']);
    expect(problems[0].message).toBe(
      `${lower.path} backs loop device ${upper.path} (attached to ${lower.path}); detach it first (losetup -d ${upper.path})`,
    );
    // The loop device on top is itself fine: what it reads and writes is its own business.
    expect((await inspectDevice(upper.path)).problems).toEqual([]);
  });

  it('reports a device another opener holds exclusively as busy', async () => {
    const dev = lab.create();
    const holder = await open(dev.path, fsConstants.O_RDONLY | fsConstants.O_EXCL);
    try {
      const { problems } = await inspectDevice(dev.path);
      expect(codes(problems)).toEqual(['busy']);
      expect(problems[0].message).toContain(`${dev.path} is held open exclusively by something else`);
    } finally {
      await holder.close();
    }
  });

  it('uses blkid as evidence for formats the magic scan does not know (minix)', async () => {
    const dev = lab.create();
    execFileSync('mkfs.minix', [dev.path], { stdio: 'ignore' });
    const { problems } = await inspectDevice(dev.path);
    expect(codes(problems)).toEqual(['filesystem']);
    expect(problems[0].message).toBe(
      `${dev.path} carries a minix filesystem; pool add --force would destroy it`,
    );
  });

  it('finds a signature at the end of the device (md superblock 1.0)', async () => {
    const dev = lab.create({ sizeMiB: 16 });
    const magic = Buffer.alloc(4);
    magic.writeUInt32LE(0xa92b4efc);
    const handle = await open(dev.path, 'r+');
    await handle.write(magic, 0, 4, 16 * 1024 * 1024 - 8192);
    await handle.close();
    const { problems } = await inspectDevice(dev.path);
    expect(problems.map((p) => p.message)).toContain(
      `${dev.path} carries an md RAID member superblock (md superblock version 1.0); pool add --force would destroy it`,
    );
  });

  it('refuses what can never be a pool device, whatever --force says', async () => {
    const dev = lab.create();
    expect((await errorOf(inspectDevice(dev.file))).message).toBe(`${dev.file} is not a block device`);
    expect((await errorOf(inspectDevice(lab.dir))).message).toContain('is a directory (use pool add --dir');
    const missing = await errorOf(inspectDevice('/dev/disk/by-id/ferry-no-such-disk'));
    expect(missing.code).toBe('ERR_NOT_FOUND');
    expect(missing.message).toContain('/dev/disk/by-id/ferry-no-such-disk does not exist');
  });
});

describe('inspectDevice on the root disk', () => {
  const rootMount = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' - '))
    .filter(([left]) => left?.split(' ')[4] === '/')
    .map(([, right]) => right.split(' '))
    .at(-1);
  const [rootFsType, root] = rootMount ?? [];
  const rootIsDevice = root?.startsWith('/dev/') === true;
  if (!rootIsDevice)
    console.warn(`device-safety-inspect: root-disk case skipped: / is on ${root}, not a device`);

  it.skipIf(!rootIsDevice)('refuses the disk that holds /', async () => {
    const { problems } = await inspectDevice(root!);
    const rootProblem = problems.find((p) => p.code === 'root-disk');
    expect(rootProblem?.message).toMatch(
      new RegExp(`^${root} holds the root filesystem \\(/\\) of this machine`),
    );
    expect(problems.find((p) => p.code === 'mounted')?.message).toBe(
      `${root} is mounted at / (${rootFsType}); unmount it first`,
    );
    expect(codes(problems)).toContain('mounted');
    expect(describeLoss(problems)).toContain('the system would stop working');
  });
});
