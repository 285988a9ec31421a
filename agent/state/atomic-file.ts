// Crash-safe file replacement: write a temp file, fsync it, rename it over the target, fsync the
// folder. After a crash the target is either the old or the new content, never a mix.

import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let tempCounter = 0;

export const TEMP_MARKER = '.tmp-';

export async function writeFileAtomic(path: string, data: Buffer | string, mode = 0o600): Promise<void> {
  const temp = join(dirname(path), `${basename(path)}${TEMP_MARKER}${process.pid}-${++tempCounter}`);
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** Makes a rename, create or unlink in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
