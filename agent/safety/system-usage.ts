// Who on this machine is using block devices right now, from /proc: mounts (mountinfo, with
// major:minor, so a device mounted under another name is still seen), active swap, md arrays. The
// parsers are pure functions of the file text so they can be tested on samples.

import { readFile } from 'node:fs/promises';

export interface MountEntry {
  /** 'MAJOR:MINOR' of the mounted device (0:N for filesystems without one, such as tmpfs, btrfs). */
  devno: string;
  mountPoint: string;
  fsType: string;
  /** Mount source as the kernel reports it ('/dev/sdb1', 'tmpfs'). */
  source: string;
  readOnly: boolean;
}

/** Parses /proc/self/mountinfo (see proc(5)); lines it can not read are skipped. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    // id parent major:minor root mount-point options [optional fields...] - fstype source super-options
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 6 || right.length < 2) continue;
    const options = left[5].split(',');
    entries.push({
      devno: left[2],
      mountPoint: unescapeOctal(left[4]),
      fsType: right[0],
      source: unescapeOctal(right[1]),
      readOnly: options.includes('ro'),
    });
  }
  return entries;
}

export interface SwapEntry {
  path: string;
  type: string;
}

/** Parses /proc/swaps: a header line, then 'Filename Type Size Used Priority'. */
export function parseSwaps(text: string): SwapEntry[] {
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      // The file name is octal-escaped like mountinfo; the columns are separated by whitespace.
      const [path, type] = line.split(/\s+/);
      return { path: unescapeOctal(path), type: type ?? '' };
    });
}

export interface MdArray {
  name: string;
  /** Kernel names of the member devices ('sda1', 'loop3'). */
  members: string[];
}

/** Parses /proc/mdstat lines like 'md0 : active raid1 sdb1[1] sda1[0](F)'. */
export function parseMdstat(text: string): MdArray[] {
  const arrays: MdArray[] = [];
  for (const line of text.split('\n')) {
    const m = /^(md\S*)\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const members = m[2]
      .split(/\s+/)
      .map((word) => /^([^[\s]+)\[\d+\]/.exec(word)?.[1])
      .filter((name): name is string => name !== undefined);
    arrays.push({ name: m[1], members });
  }
  return arrays;
}

/** Decodes the \NNN octal escapes the kernel uses for spaces, tabs and backslashes in paths. */
export function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

export interface SystemUsage {
  mounts: MountEntry[];
  swaps: SwapEntry[];
  mdArrays: MdArray[];
}

/** Reads the current mounts, swaps and md arrays; a file that is missing (no md module) reads as empty. */
export async function readSystemUsage(): Promise<SystemUsage> {
  const [mountinfo, swaps, mdstat] = await Promise.all([
    readOptional('/proc/self/mountinfo'),
    readOptional('/proc/swaps'),
    readOptional('/proc/mdstat'),
  ]);
  return { mounts: parseMountinfo(mountinfo), swaps: parseSwaps(swaps), mdArrays: parseMdstat(mdstat) };
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}
