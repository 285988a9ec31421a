// One agent per state dir: a pid file created exclusively. A pid file whose process is gone (the
// agent was killed) is taken over; one whose process lives is refused.

import { readFileSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../../shared/errors.js';
import { fsyncDir } from './atomic-file.js';

export const LOCK_FILE = 'agent.pid';

export interface StateLock {
  release(): Promise<void>;
}

/** Lock files this process holds: a pid file naming our own pid is stale unless it is in here. */
const heldHere = new Set<string>();

export async function acquireStateLock(dir: string): Promise<StateLock> {
  const path = join(dir, LOCK_FILE);
  if (heldHere.has(path)) {
    throw new FerryError('ERR_ALREADY_EXISTS', `state dir ${dir} is already open in this agent`, {
      stateDir: dir,
    });
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.sync();
      await handle.close();
      await fsyncDir(dir);
      let released = false;
      heldHere.add(path);
      return {
        async release() {
          if (released) return;
          released = true;
          heldHere.delete(path);
          await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new FerryError(
        'ERR_ALREADY_EXISTS',
        `state dir ${dir} is in use by another agent (pid ${holder}); stop it first or use another --state-dir`,
        { pid: holder, stateDir: dir },
      );
    }
    // The holder is gone (kill -9, crash): its lock is stale.
    await rm(path, { force: true });
  }
  throw new FerryError('ERR_INTERNAL', `could not lock state dir ${dir}`);
}

/** A killed agent whose parent has not reaped it yet is a zombie: it holds nothing, so it counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}
