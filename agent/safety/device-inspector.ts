// Disks Ferry must never touch: before `pool add --device` takes a block device, this module lists
// every reason it may hold data or be in use (mounted, swap, md, device-mapper, loop backing, the
// root disk, another pool, partition tables, filesystem and other signatures). Each problem names the
// device and the reason in plain words; describeLoss() says what --force would destroy.

import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { probeWithUtilLinux } from './blkid-probe.js';
import {
  allBlockDevices,
  type BlockDeviceInfo,
  describePath,
  devnoOfName,
  diskOf,
  holdersOf,
  loopBackingFile,
  nameOfDevicePath,
  readBlockDevice,
  slavesOf,
  sysDirOfDevno,
} from './block-device.js';
import type { DeviceProblem } from './device-problem.js';
import { type DiskSignature, findSignatures, readDeviceBytes } from './disk-signatures.js';
import { mergeSignatures, signatureProblem } from './signature-problems.js';
import { type MountEntry, readSystemUsage, type SystemUsage } from './system-usage.js';

export type { DeviceProblem, DeviceProblemCode } from './device-problem.js';

export interface DeviceInspection {
  /** The device as resolved (symlinks followed): '/dev/loop3'. */
  device: string;
  sizeBytes: number;
  problems: DeviceProblem[];
  /** What was looked at, for the log and the audit record ('sysfs', 'magic scan', 'blkid', ...). */
  evidence: string[];
}

export interface InspectContext {
  /** Devices already in other pools of this agent (paths, or with the pool's name for messages). */
  otherPoolDevices?: Array<string | { device: string; pool: string }>;
}

/**
 * Inspects a device given to `pool add --device`. Throws a FerryError when the path can never be a
 * pool device (missing, not a block device, size 0, read-only); otherwise lists every problem found.
 */
export async function inspectDevice(path: string, ctx: InspectContext = {}): Promise<DeviceInspection> {
  const info = await readBlockDevice(path);
  const dev = describePath(path, info.path);
  const evidence = ['sysfs', '/proc/self/mountinfo', '/proc/swaps', '/proc/mdstat'];
  const family = await familyOf(info);
  const usage = await readSystemUsage();

  const problems: DeviceProblem[] = [
    ...(await rootDiskProblems(dev, info, usage)),
    ...(await mountProblems(dev, info, family, usage.mounts)),
    ...(await swapProblems(dev, family, usage)),
    ...mdProblems(dev, family, usage),
    ...holderProblems(dev, family),
    ...(await loopBackingProblems(dev, family)),
    ...(await otherPoolProblems(dev, info, family, ctx)),
  ];

  const inUse = problems.length > 0;
  const busy = await exclusiveOpenFails(info.path);
  evidence.push('exclusive open');
  if (busy && !inUse) {
    problems.push({
      code: 'busy',
      message: `${dev} is held open exclusively by something else (the kernel answers EBUSY): a mount, an md array, device-mapper or a running program`,
      loss: `whatever is using ${dev} right now`,
    });
  }

  const signatures: DiskSignature[] = [];
  try {
    signatures.push(
      ...findSignatures(await readDeviceBytes(info.path, info.sizeBytes, info.logicalBlockSize)),
    );
    evidence.push('magic scan');
  } catch (err) {
    const why = (err as Error).message;
    evidence.push(`magic scan failed: ${why}`);
    // Not knowing what is on a disk is no proof that it is empty.
    problems.push({
      code: 'unreadable',
      message: `${dev} could not be read to check what it holds (${why})`,
      loss: `whatever ${dev} holds (it could not be read)`,
    });
  }
  const probe = await probeWithUtilLinux(info.path);
  signatures.push(...probe.signatures);
  evidence.push(...probe.tools, ...probe.failures);

  const merged = mergeSignatures(signatures);
  problems.push(...merged.map((sig) => signatureProblem(dev, sig, info.partitions)));
  if (info.partitions.length > 0 && !merged.some((s) => s.kind === 'partition-table')) {
    const names = info.partitions.map((p) => `/dev/${p}`).join(', ');
    problems.push({
      code: 'partitions',
      message: `${dev} has partitions the kernel knows (${names}); pool add --force would destroy them`,
      loss: `the partitions ${names} and everything in them`,
    });
  }
  return { device: info.path, sizeBytes: info.sizeBytes, problems, evidence };
}

/** What `pool add --force` would destroy, one line per problem; '' when there is nothing. */
export function describeLoss(
  problems: ReadonlyArray<Pick<DeviceProblem, 'message'> & { loss?: string }>,
): string {
  if (problems.length === 0) return '';
  const lines = problems.map((p) => `  - ${p.loss ?? p.message}`);
  return ['pool add --force would destroy:', ...new Set(lines)].join('\n');
}

/** The device, its partitions and everything stacked on any of them, by kernel name and devno. */
interface Family {
  names: Set<string>;
  devnos: Map<string, string>;
  holders: Array<{ name: string; description: string; on: string }>;
}

async function familyOf(info: BlockDeviceInfo): Promise<Family> {
  const names = new Set([info.name, ...info.partitions]);
  const holders: Family['holders'] = [];
  const seen = new Set<string>();
  for (const name of [info.name, ...info.partitions]) {
    for (const holder of await holdersOf(name, seen)) {
      holders.push({ ...holder, on: name });
      names.add(holder.name);
    }
  }
  const devnos = new Map<string, string>();
  for (const name of names) {
    const devno = await devnoOfName(name);
    if (devno) devnos.set(devno, name);
  }
  return { names, devnos, holders };
}

/** Kernel name of a mount's device: by major:minor, or by its /dev source for btrfs and the like. */
async function mountedName(mount: MountEntry): Promise<string | undefined> {
  if (!mount.devno.startsWith('0:')) {
    const sysDir = await sysDirOfDevno(mount.devno);
    if (sysDir) return sysDir.slice(sysDir.lastIndexOf('/') + 1);
  }
  return mount.source.startsWith('/dev/') ? nameOfDevicePath(mount.source) : undefined;
}

async function rootDiskProblems(
  dev: string,
  info: BlockDeviceInfo,
  usage: SystemUsage,
): Promise<DeviceProblem[]> {
  const root = usage.mounts.filter((m) => m.mountPoint === '/').at(-1);
  const rootName = root && (await mountedName(root));
  if (!rootName) return []; // root on tmpfs/overlay (a container): no disk holds it
  const chain = new Set<string>();
  for (const name of [rootName, ...(await slavesOf(rootName))]) {
    chain.add(name);
    chain.add(await diskOf(name));
  }
  if (!chain.has(info.name)) return [];
  return [
    {
      code: 'root-disk',
      message: `${dev} holds the root filesystem (/) of this machine (${root.fsType} on /dev/${rootName})`,
      loss: `the root filesystem of this machine on ${dev}: the system would stop working`,
    },
  ];
}

async function mountProblems(
  dev: string,
  info: BlockDeviceInfo,
  family: Family,
  mounts: MountEntry[],
): Promise<DeviceProblem[]> {
  const problems: DeviceProblem[] = [];
  for (const mount of mounts) {
    const name = family.devnos.get(mount.devno) ?? (await mountedName(mount));
    if (!name || !family.names.has(name)) continue;
    const via = name === info.name ? '' : ` through /dev/${name}`;
    problems.push({
      code: 'mounted',
      message: `${dev} is mounted${via} at ${mount.mountPoint} (${mount.fsType}); unmount it first`,
      loss: `the ${mount.fsType} filesystem mounted at ${mount.mountPoint}${via}, in use right now`,
    });
  }
  return problems;
}

async function swapProblems(dev: string, family: Family, usage: SystemUsage): Promise<DeviceProblem[]> {
  const problems: DeviceProblem[] = [];
  for (const swap of usage.swaps) {
    if (swap.type !== 'partition') continue; // a swap file shows up as the mount of its filesystem
    const name = await nameOfDevicePath(swap.path);
    if (!name || !family.names.has(name)) continue;
    problems.push({
      code: 'swap-active',
      message: `${dev} is in use as swap (${swap.path}); swapoff it first`,
      loss: `the active swap space on ${swap.path}: running programs may crash`,
    });
  }
  return problems;
}

function mdProblems(dev: string, family: Family, usage: SystemUsage): DeviceProblem[] {
  const problems: DeviceProblem[] = [];
  for (const array of usage.mdArrays) {
    const members = array.members.filter((m) => family.names.has(m));
    if (members.length === 0) continue;
    problems.push({
      code: 'md-member',
      message: `${dev} is a member of md array /dev/${array.name} (as ${members.join(', ')}); stop the array or remove the member first`,
      loss: `its part of md array /dev/${array.name}: the array is degraded or loses its data`,
    });
  }
  return problems;
}

function holderProblems(dev: string, family: Family): DeviceProblem[] {
  const reported = new Set<string>();
  const problems: DeviceProblem[] = [];
  for (const holder of family.holders) {
    if (holder.name.startsWith('md') || reported.has(holder.name)) continue; // md arrays: see mdProblems
    reported.add(holder.name);
    problems.push({
      code: 'dm-holder',
      message: `${dev} is in use by ${holder.description} (/dev/${holder.name}, stacked on /dev/${holder.on}); remove it first`,
      loss: `the ${holder.description} stacked on ${dev}`,
    });
  }
  return problems;
}

async function loopBackingProblems(dev: string, family: Family): Promise<DeviceProblem[]> {
  const problems: DeviceProblem[] = [];
  for (const name of await allBlockDevices()) {
    if (!name.startsWith('loop') || family.names.has(name)) continue;
    const backing = await loopBackingFile(name);
    if (!backing) continue;
    const backingName = await nameOfDevicePath(backing);
    if (!backingName || !family.names.has(backingName)) continue;
    problems.push({
      code: 'loop-backing',
      message: `${dev} backs loop device /dev/${name} (attached to ${backing}); detach it first (losetup -d /dev/${name})`,
      loss: `the contents of loop device /dev/${name}, which reads and writes ${backing}`,
    });
  }
  return problems;
}

async function otherPoolProblems(
  dev: string,
  info: BlockDeviceInfo,
  family: Family,
  ctx: InspectContext,
): Promise<DeviceProblem[]> {
  const problems: DeviceProblem[] = [];
  for (const entry of ctx.otherPoolDevices ?? []) {
    const other = typeof entry === 'string' ? { device: entry, pool: undefined } : entry;
    const otherName = await nameOfDevicePath(other.device);
    const overlaps = otherName
      ? family.names.has(otherName) || otherName === info.parentDisk
      : other.device === info.path;
    if (!overlaps) continue;
    const pool = other.pool ? `pool ${JSON.stringify(other.pool)}` : 'another pool';
    const same = otherName === info.name || other.device === info.path;
    const how = same ? '' : ` (overlapping ${other.device})`;
    problems.push({
      code: 'in-other-pool',
      message: `${dev} is already in ${pool}${how}; remove it from that pool first`,
      loss: `the logical volumes of ${pool} on ${dev}`,
    });
  }
  return problems;
}

/** Linux: O_EXCL on a block device fails with EBUSY while a mount, md, dm or another opener claims it. */
async function exclusiveOpenFails(path: string): Promise<boolean> {
  try {
    const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_EXCL);
    await handle.close();
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EBUSY';
  }
}
