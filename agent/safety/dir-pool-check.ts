// Before `pool add --dir` takes a folder: it must exist, be a folder Ferry can write in, on a
// filesystem that is mounted read-write and is not nearly full (thin LV files would fail their
// first writes there). Refusals give the figures so the admin can act.

import { constants as fsConstants } from 'node:fs';
import { open, readFile, realpath, stat, statfs, unlink } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { FerryError } from '../../shared/errors.js';
import { formatSizeApprox } from '../../shared/names.js';
import { parseMountinfo } from './system-usage.js';

export const MIN_FREE_BYTES = 256 * 1024 * 1024;
export const MIN_FREE_FRACTION = 0.01;

export interface DirPoolFilesystem {
  /** The folder as resolved (symlinks followed). */
  path: string;
  /** Mount point and type of the filesystem holding it, when /proc/self/mountinfo says. */
  mountPoint?: string;
  fsType?: string;
  totalBytes: number;
  /** Free to an unprivileged writer (f_bavail): what LV files can really grow into. */
  freeBytes: number;
}

export interface DirPoolCheckOptions {
  minFreeBytes?: number;
  minFreeFraction?: number;
}

/** Checks a dir pool's folder; throws a FerryError saying what is wrong, else describes its filesystem. */
export async function checkDirPool(
  dir: string,
  options: DirPoolCheckOptions = {},
): Promise<DirPoolFilesystem> {
  const path = await resolveFolder(dir);
  const mount = await mountOf(path);
  const where = mount ? `${mount.fsType} filesystem mounted at ${mount.mountPoint}` : 'filesystem';
  if (mount?.readOnly) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `${path} is on a read-only ${where}; remount it read-write or pick another folder`,
    );
  }
  await probeWrite(path, where);

  const fs = await statfs(path);
  const totalBytes = fs.blocks * fs.bsize;
  const freeBytes = fs.bavail * fs.bsize;
  const minFreeBytes = options.minFreeBytes ?? MIN_FREE_BYTES;
  const minFreeFraction = options.minFreeFraction ?? MIN_FREE_FRACTION;
  if (freeBytes < minFreeBytes || freeBytes < totalBytes * minFreeFraction) {
    const percent = totalBytes > 0 ? ((freeBytes / totalBytes) * 100).toFixed(1) : '0';
    throw new FerryError(
      'ERR_NO_SPACE',
      `${path} is on a nearly full ${where}: ${formatSizeApprox(freeBytes)} free of ${formatSizeApprox(totalBytes)} ` +
        `(${percent}%); a dir pool needs at least ${formatSizeApprox(minFreeBytes)} and ${minFreeFraction * 100}% free`,
      { path, freeBytes, totalBytes },
    );
  }
  return {
    path,
    ...(mount ? { mountPoint: mount.mountPoint, fsType: mount.fsType } : {}),
    totalBytes,
    freeBytes,
  };
}

async function resolveFolder(dir: string): Promise<string> {
  let path: string;
  try {
    path = await realpath(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FerryError(
        'ERR_NOT_FOUND',
        `${dir} does not exist; create the folder first (mkdir -p ${dir})`,
      );
    }
    throw new FerryError('ERR_INVALID_ARGUMENT', `${dir} can not be resolved: ${(err as Error).message}`);
  }
  const st = await stat(path);
  if (!st.isDirectory()) {
    const hint = st.isBlockDevice() ? ' (use pool add --device for a block device)' : '';
    throw new FerryError('ERR_INVALID_ARGUMENT', `${path} is not a folder${hint}`);
  }
  return path;
}

/** Creates and removes a file: the only sure test (root ignores mode bits; ro mounts, quotas, ACLs do not). */
async function probeWrite(path: string, where: string): Promise<void> {
  const probe = join(path, `.ferry-write-probe-${process.pid}`);
  try {
    const handle = await open(probe, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600);
    await handle.close();
    await unlink(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') {
      throw new FerryError(
        'ERR_INVALID_ARGUMENT',
        `${path} is on a read-only ${where}; remount it read-write or pick another folder`,
      );
    }
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new FerryError(
        'ERR_NO_SPACE',
        `${path} is on a full ${where} (${code}); free some space or pick another folder`,
      );
    }
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `${path} is not writable by the agent (${code ?? (err as Error).message})`,
    );
  }
}

/** The mount holding a path: the longest mount point that is a prefix of it (the last one wins on ties). */
async function mountOf(path: string) {
  let text: string;
  try {
    text = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  let best: ReturnType<typeof parseMountinfo>[number] | undefined;
  for (const mount of parseMountinfo(text)) {
    const point = mount.mountPoint;
    const inside =
      point === '/' || path === point || path.startsWith(point.endsWith(sep) ? point : point + sep);
    if (inside && (!best || point.length >= best.mountPoint.length)) best = mount;
  }
  return best;
}
