// Facts about a block device without native code: Node cannot fstat a device's size (st_size is 0),
// so the size comes from sysfs (/sys/dev/block/MAJ:MIN/size, in 512-byte sectors), and "in use"
// from /proc/self/mountinfo and the holders/ folder (device-mapper, md, ...).

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { FerryError } from '../../shared/errors.js';

export interface BlockDeviceFacts {
  path: string;
  /** MAJ:MIN */
  devno: string;
  size: number;
}

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
export function splitDevno(rdev: number): { major: number; minor: number } {
  const big = BigInt(rdev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}

export async function inspectBlockDevice(path: string): Promise<BlockDeviceFacts> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (err) {
    throw new FerryError(
      'ERR_NOT_FOUND',
      `device ${path} not found (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  if (!st.isBlockDevice()) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `${path} is not a block device`);
  }
  const { major, minor } = splitDevno(st.rdev);
  const devno = `${major}:${minor}`;
  const sectors = Number.parseInt(await readFile(`/sys/dev/block/${devno}/size`, 'utf8'), 10);
  if (!Number.isSafeInteger(sectors) || sectors <= 0) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `device ${path} has no usable size (is it an empty loop device?)`,
    );
  }
  return { path, devno, size: sectors * 512 };
}

/**
 * Refuses a device that something else uses: mounted (itself or one of its partitions), held by
 * device-mapper/md, or partitioned. Handing such a device to hosts would corrupt it.
 */
export async function assertDeviceUnused(facts: BlockDeviceFacts): Promise<void> {
  const sysDir = `/sys/dev/block/${facts.devno}`;
  const holders = await readdir(`${sysDir}/holders`).catch(() => [] as string[]);
  if (holders.length > 0) {
    throw new FerryError('ERR_UNSAFE_DEVICE', `device ${facts.path} is in use by ${holders.join(', ')}`);
  }
  const realSys = await realpath(sysDir).catch(() => sysDir);
  const partitions: string[] = [];
  for (const entry of await readdir(realSys).catch(() => [] as string[])) {
    const dev = await readFile(`${realSys}/${entry}/partition`, 'utf8').catch(() => undefined);
    if (dev !== undefined) partitions.push(entry);
  }
  if (partitions.length > 0) {
    throw new FerryError(
      'ERR_UNSAFE_DEVICE',
      `device ${facts.path} has partitions (${partitions.join(', ')}); add a partition instead of the whole disk`,
    );
  }
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    if (fields[2] === facts.devno) {
      throw new FerryError('ERR_UNSAFE_DEVICE', `device ${facts.path} is mounted on ${fields[4]}`);
    }
  }
}
