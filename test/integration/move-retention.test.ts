// What an ended move leaves in the front agent's state dir, on real agents driven through ctl. A move
// to a remote target (TLS-PSK) keeps its PSK key while it runs and across an agent restart (it
// resumes with it); once done the key is gone, the vv keeps its own copy and reads through its remote
// mapping after another restart; a key an older agent left behind goes at the next start; the
// journal stays (move status still answers). An aborted move leaves no key either.
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type LabAgent,
  type MoveJson,
  moveLabPerTest,
  qemuIo,
  type VolumeJson,
  waitForMove,
} from '../helpers/move-lab.js';

const MiB = 1024 * 1024;
const newLab = moveLabPerTest();

/** Where the agent's state store keeps a secret (agent/state/state-store.ts: secrets/<name>.key). */
function secretFile(agent: LabAgent, name: string): string {
  return join(agent.dir, 'state', 'secrets', `${name}.key`);
}

function moveKeyFile(agent: LabAgent, id: string): string {
  return secretFile(agent, `move.${id}.psk`);
}

function journalFile(agent: LabAgent, id: string): string {
  return join(agent.dir, 'state', `moves.${id}.json`);
}

async function eventually(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`still not true after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * SIGTERM: the agent stops its moves where they are, logs a clean stop and exits. It must exit soon
 * after: the stopped move's target connections once kept it alive until its 90 s exit watchdog.
 */
async function stopCleanly(agent: LabAgent): Promise<void> {
  const stops = () => agent.output().match(/ agent: stopped$/gm)?.length ?? 0;
  const before = stops();
  const exited = agent.kill('SIGTERM').then(() => true);
  await eventually(`${agent.name} logs a clean stop`, () => stops() > before, 30_000);
  const gone = await Promise.race([exited, new Promise<false>((r) => setTimeout(() => r(false), 10_000))]);
  if (!gone) {
    await agent.kill('SIGKILL');
    console.log(agent.output().slice(-3000));
  }
  expect(gone, `${agent.name} still running 10 s after it logged a clean stop`).toBe(true);
}

/** Front with vol1 (16 MiB of 0xab), back with an exported LV pb/t1. */
async function twoAgents() {
  const pair = await newLab().remotePair('16M');
  // Slow enough (1 MiB/s in 1 MiB chunks) to look at the state dir and restart mid-copy.
  const slow = ['--chunk', '1M', '--throttle', '1M'];
  return { ...pair, slow };
}

describe('what an ended move leaves behind', () => {
  it('a done move to a remote target leaves no PSK key; the vv reads through its own after a restart', async () => {
    const { front, target, to, slow } = await twoAgents();
    const { id } = await front.ctl<MoveJson>('move', 'start', 'vol1', ...to, ...slow);
    await waitForMove(front, id, (m) => m.copiedBytes >= MiB);
    expect(statSync(moveKeyFile(front, id)).mode & 0o777).toBe(0o600);

    // A move stopped by agent shutdown has not ended: it keeps its key and resumes with it.
    await stopCleanly(front);
    expect(existsSync(moveKeyFile(front, id))).toBe(true);
    await front.start();
    expect(['copying', 'degraded']).toContain((await front.ctl<MoveJson>('move', 'status', id)).phase);
    expect(existsSync(moveKeyFile(front, id))).toBe(true);

    await front.ctl('move', 'throttle', id, '0');
    const done = await waitForMove(front, id, (m) => m.phase === 'done' || m.phase === 'failed');
    expect(done.phase, done.error).toBe('done');
    await eventually('the move key is removed', () => !existsSync(moveKeyFile(front, id)));
    expect(existsSync(secretFile(front, 'psk.vol1'))).toBe(true);
    const [volume] = await front.ctl<VolumeJson[]>('volume', 'list');
    expect(volume).toMatchObject({ name: 'vol1', epoch: 2, mapping: { kind: 'remote', url: target } });

    // An agent from before retention left the key: the next start removes it. The restarted agent
    // opens the vv through its remote mapping with the vv's own key, and the data reads back.
    await stopCleanly(front);
    writeFileSync(moveKeyFile(front, id), randomBytes(32), { mode: 0o600 });
    await front.start();
    expect(existsSync(moveKeyFile(front, id))).toBe(false);
    expect(existsSync(secretFile(front, 'psk.vol1'))).toBe(true);
    const [restarted] = await front.ctl<VolumeJson[]>('volume', 'list');
    expect(restarted).toMatchObject({ epoch: 2, mapping: { kind: 'remote', url: target } });
    await qemuIo(front.url('vol1'), 'read -P 0xab 0 16M');
    await qemuIo(front.url('vol1'), 'write -P 0x5c 4M 1M', 'read -P 0x5c 4M 1M');

    // The journal is history: still on disk, and the move still answers.
    expect(existsSync(journalFile(front, id))).toBe(true);
    expect(await front.ctl<MoveJson>('move', 'status', id)).toMatchObject({ id, phase: 'done' });
  });

  it('an aborted move leaves no PSK key and keeps its journal', async () => {
    const { front, to, slow } = await twoAgents();
    const { id } = await front.ctl<MoveJson>('move', 'start', 'vol1', ...to, ...slow);
    await waitForMove(front, id, (m) => m.copiedBytes >= MiB);
    expect(existsSync(moveKeyFile(front, id))).toBe(true);
    expect((await front.ctl<MoveJson>('move', 'abort', id)).phase).toBe('aborted');
    await eventually('the move key is removed', () => !existsSync(moveKeyFile(front, id)));
    expect(existsSync(journalFile(front, id))).toBe(true);
    const [volume] = await front.ctl<VolumeJson[]>('volume', 'list');
    expect(volume).toMatchObject({ epoch: 1, mapping: { kind: 'local', pool: 'pa', lv: 'vol1' } });
    expect(existsSync(secretFile(front, 'psk.vol1'))).toBe(false);
    await qemuIo(front.url('vol1'), 'read -P 0xab 0 16M');
    // Still listed after a restart, still without a key.
    await stopCleanly(front);
    await front.start();
    expect((await front.ctl<MoveJson[]>('move', 'list')).map((m) => [m.id, m.phase])).toEqual([
      [id, 'aborted'],
    ]);
    expect(existsSync(moveKeyFile(front, id))).toBe(false);
  });
});
