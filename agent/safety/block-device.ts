// What the kernel says about one block device, from /dev and /sys: its kernel name, major:minor,
// size, whether it is a partition (and of which disk), its partitions and what is stacked on it
// (holders: device-mapper, md). Read-only; pure Node so it bundles into the agent.

import { constants as fsConstants } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FerryError } from '../../shared/errors.js';

const SYS_DEV_BLOCK = '/sys/dev/block';
const SYS_CLASS_BLOCK = '/sys/class/block';

export interface BlockDeviceInfo {
  /** The path as resolved (symlinks such as /dev/disk/by-id/... followed). */
  path: string;
  /** Kernel name: 'sdb', 'sdb1', 'loop3', 'nvme0n1p2', 'dm-0'. */
  name: string;
  /** 'MAJOR:MINOR' as /proc/self/mountinfo writes it. */
  devno: string;
  sizeBytes: number;
  readOnly: boolean;
  logicalBlockSize: number;
  /** Kernel name of the whole disk when this is a partition. */
  parentDisk?: string;
  /** Kernel names of this device's partitions (as the kernel knows them). */
  partitions: string[];
}

/**
 * Resolves and checks a path given to `pool add --device`. Throws a FerryError when the path can not
 * be a pool device at all (missing, not a block device, empty, read-only): --force can not help those.
 */
export async function readBlockDevice(path: string): Promise<BlockDeviceInfo> {
  let resolved: string;
  try {
    resolved = await realpath(resolve(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new FerryError(
        'ERR_NOT_FOUND',
        `${path} does not exist; check the name (lsblk, ls -l /dev/disk/by-id)`,
      );
    }
    throw new FerryError('ERR_INVALID_ARGUMENT', `${path} can not be resolved: ${(err as Error).message}`);
  }
  const st = await stat(resolved, { bigint: true });
  if ((Number(st.mode) & fsConstants.S_IFMT) !== fsConstants.S_IFBLK) {
    const what = st.isDirectory() ? 'a directory (use pool add --dir for a folder)' : 'not a block device';
    throw new FerryError('ERR_INVALID_ARGUMENT', `${describePath(path, resolved)} is ${what}`);
  }
  const devno = devnoOf(st.rdev);
  const sysDir = await sysDirOfDevno(devno);
  if (!sysDir) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `${resolved} (${devno}) is not known to the kernel under /sys`,
    );
  }
  const name = basename(sysDir);
  const isPartition = await exists(join(sysDir, 'partition'));
  const sizeBytes = (await readNumber(join(sysDir, 'size'))) * 512;
  const info: BlockDeviceInfo = {
    path: resolved,
    name,
    devno,
    sizeBytes,
    readOnly: (await readNumber(join(sysDir, 'ro'))) === 1,
    logicalBlockSize:
      (await readNumber(join(isPartition ? dirname(sysDir) : sysDir, 'queue/logical_block_size'))) || 512,
    partitions: isPartition ? [] : await partitionsOf(sysDir, name),
    ...(isPartition ? { parentDisk: basename(dirname(sysDir)) } : {}),
  };
  if (info.sizeBytes === 0) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `${describePath(path, resolved)} has size 0 (a loop device with no file attached, or an empty drive)`,
    );
  }
  if (info.readOnly) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `${describePath(path, resolved)} is read-only in the kernel`,
    );
  }
  return info;
}

/** Linux dev_t to 'MAJOR:MINOR' (glibc's gnu_dev_major/minor encoding). */
export function devnoOf(rdev: bigint): string {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** /sys/devices/... folder of a block device by 'MAJOR:MINOR', or undefined. */
export async function sysDirOfDevno(devno: string): Promise<string | undefined> {
  try {
    return await realpath(join(SYS_DEV_BLOCK, devno));
  } catch {
    return undefined;
  }
}

/** /sys/devices/... folder of a block device by kernel name, or undefined. */
export async function sysDirOfName(name: string): Promise<string | undefined> {
  try {
    return await realpath(join(SYS_CLASS_BLOCK, name));
  } catch {
    return undefined;
  }
}

export async function devnoOfName(name: string): Promise<string | undefined> {
  try {
    return (await readFile(join(SYS_CLASS_BLOCK, name, 'dev'), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function partitionsOf(sysDir: string, name: string): Promise<string[]> {
  const entries = await readdir(sysDir).catch(() => [] as string[]);
  const found: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith(name) && (await exists(join(sysDir, entry, 'partition')))) found.push(entry);
  }
  return found.sort(naturalOrder);
}

/** Whole disk of a kernel name ('sdb1' -> 'sdb'); the name itself when it is not a partition. */
export async function diskOf(name: string): Promise<string> {
  const sysDir = await sysDirOfName(name);
  if (sysDir && (await exists(join(sysDir, 'partition')))) return basename(dirname(sysDir));
  return name;
}

export interface Holder {
  /** Kernel name: 'dm-0', 'md127'. */
  name: string;
  /** What it is, in plain words: 'LVM logical volume vg0-data', 'md array md127', 'dm-crypt mapping luks-x'. */
  description: string;
}

/**
 * Everything stacked on a device, transitively (a dm on an md on our disk counts): the kernel lists
 * them in /sys/class/block/<dev>/holders.
 */
export async function holdersOf(name: string, seen = new Set<string>()): Promise<Holder[]> {
  const entries = await readdir(join(SYS_CLASS_BLOCK, name, 'holders')).catch(() => [] as string[]);
  const found: Holder[] = [];
  for (const holder of entries) {
    if (seen.has(holder)) continue;
    seen.add(holder);
    found.push({ name: holder, description: await describeHolder(holder) });
    found.push(...(await holdersOf(holder, seen)));
  }
  return found;
}

/** What lies under a stacked device, transitively ('dm-0' -> ['md0', 'sda1', 'sdb1']). */
export async function slavesOf(name: string, seen = new Set<string>()): Promise<string[]> {
  const entries = await readdir(join(SYS_CLASS_BLOCK, name, 'slaves')).catch(() => [] as string[]);
  const found: string[] = [];
  for (const slave of entries) {
    if (seen.has(slave)) continue;
    seen.add(slave);
    found.push(slave, ...(await slavesOf(slave, seen)));
  }
  return found;
}

async function describeHolder(name: string): Promise<string> {
  if (name.startsWith('dm-')) {
    const dmName = await readText(join(SYS_CLASS_BLOCK, name, 'dm/name'));
    const uuid = await readText(join(SYS_CLASS_BLOCK, name, 'dm/uuid'));
    const label = dmName ? ` ${dmName}` : ` ${name}`;
    if (uuid.startsWith('LVM-')) return `LVM logical volume${label}`;
    if (uuid.startsWith('CRYPT-')) return `dm-crypt mapping${label}`;
    if (uuid.startsWith('mpath-')) return `multipath device${label}`;
    return `device-mapper device${label}`;
  }
  if (name.startsWith('md')) return `md array ${name}`;
  if (name.startsWith('bcache')) return `bcache device ${name}`;
  return `stacked device ${name}`;
}

/** The loop device's backing file, or undefined when it is not a loop device or not attached. */
export async function loopBackingFile(name: string): Promise<string | undefined> {
  const text = await readText(join(SYS_CLASS_BLOCK, name, 'loop/backing_file'));
  return text === '' ? undefined : text.replace(/ \(deleted\)$/, '');
}

/** Kernel names of every block device (for scans of loop devices and the like). */
export async function allBlockDevices(): Promise<string[]> {
  return (await readdir(SYS_CLASS_BLOCK).catch(() => [] as string[])).sort(naturalOrder);
}

/** Kernel name of a path under /dev, or undefined (not a block device, or gone). */
export async function nameOfDevicePath(path: string): Promise<string | undefined> {
  try {
    const st = await stat(path, { bigint: true });
    if ((Number(st.mode) & fsConstants.S_IFMT) !== fsConstants.S_IFBLK) return undefined;
    const sysDir = await sysDirOfDevno(devnoOf(st.rdev));
    return sysDir ? basename(sysDir) : undefined;
  } catch {
    return undefined;
  }
}

export function describePath(given: string, resolved: string): string {
  return given === resolved ? resolved : `${given} (${resolved})`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return '';
  }
}

async function readNumber(path: string): Promise<number> {
  const n = Number(await readText(path));
  return Number.isFinite(n) ? n : 0;
}

function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
