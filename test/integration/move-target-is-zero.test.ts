// A move into an LV that reads as zeroes: `lv create` in a dir pool says the new LV does, and a move
// told so (`move start --target-is-zero`, what the console passes for the LV it just created) sends
// the volume's data but not its zero regions. Real agents on loopback, bytes checked on both LVs.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type MoveJson, moveLabPerTest, qemuIo, waitForMove } from '../helpers/move-lab.js';

const newLab = moveLabPerTest();

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Front's vol1 (64 MiB) with data at both ends and 40 MiB of zeroes between; back's empty pb/t1. */
async function halfZeroPair() {
  const pair = await newLab().remotePair('64M');
  await qemuIo(pair.vv, 'write -z 8M 40M', 'write -P 0xcd 20M 64k');
  return pair;
}

async function moveToTarget(pair: Awaited<ReturnType<typeof halfZeroPair>>): Promise<MoveJson> {
  const { front, to } = pair;
  const { id } = await front.ctl<MoveJson>(
    'move',
    'start',
    'vol1',
    ...to,
    '--target-is-zero',
    '--keep-source',
  );
  return waitForMove(front, id, (m) => m.phase === 'done' || m.phase === 'failed');
}

describe('move into a target that reads as zeroes', () => {
  it('lv create says a new dir-pool LV reads as zeroes; a move told so leaves it equal to the volume', async () => {
    const pair = await halfZeroPair();
    expect(pair.targetLv.readsAsZero).toBe(true);
    expect((await moveToTarget(pair)).phase).toBe('done');
    await qemuIo(
      pair.vv,
      'read -P 0xab 0 8M',
      'read -P 0 8M 12M',
      'read -P 0xcd 20M 64k',
      'read -P 0 20544k 28608k',
      'read -P 0xab 48M 16M',
    );
    // --keep-source: the old LV is still there to compare with, byte for byte.
    expect(sha256(join(pair.back.dir, 'pool', 't1.img'))).toBe(
      sha256(join(pair.front.dir, 'pool', 'vol1.img')),
    );
  });

  it('believes the claim, as nbdcopy does --target-is-zero: old bytes stay where the volume has zeroes', async () => {
    // What makes the first test mean something: the claim reaches the copy. Said of an LV that is not
    // blank, the volume's zero regions keep the old bytes (why the console claims it only for an LV
    // it has just created and exported under the move's own key).
    const pair = await halfZeroPair();
    writeFileSync(join(pair.back.dir, 'pool', 't1.img'), Buffer.alloc(64 * 1024 * 1024, 0x5a));
    expect((await moveToTarget(pair)).phase).toBe('done');
    await qemuIo(pair.vv, 'read -P 0xab 0 8M', 'read -P 0x5a 8M 12M', 'read -P 0xcd 20M 64k');
  });
});
