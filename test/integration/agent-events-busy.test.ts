// `ctl events --follow` streams events as JSON lines; a vv that a host has open cannot be deleted
// (ERR_VOLUME_BUSY naming the connections) until --force, which disconnects the host first.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgent } from '../helpers/agent-process.js';

let agent: AgentProcess | undefined;
const children: ChildProcessWithoutNullStreams[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await agent?.stop();
  agent = undefined;
});

function collect(child: ChildProcessWithoutNullStreams): () => string {
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  child.stderr.on('data', (d) => (text += d));
  return () => text;
}

describe('events and busy volumes', () => {
  it('follows events as JSON lines', async () => {
    agent = await startAgent();
    const follow = spawn(process.execPath, [
      agent.bundle,
      'ctl',
      '--control',
      agent.control,
      'events',
      '--follow',
    ]);
    children.push(follow);
    const out = collect(follow);
    await expect.poll(() => out()).toContain('"agent.started"');
    await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`);
    await agent.ctl('volume', 'create', 'v', '--size', '1M', '--pool', 'p1');
    await expect.poll(() => out()).toContain('"volume.created"');
    const events = out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; seq: number });
    expect(events.map((e) => e.type)).toEqual(['agent.started', 'pool.added', 'volume.created']);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    // When the agent stops, the follower ends.
    const ended = new Promise<number | null>((resolve) => follow.on('exit', (code) => resolve(code)));
    await agent.kill('SIGTERM');
    expect(await ended).not.toBeNull();
  });

  it('refuses to delete a volume a host has open, and --force disconnects it', async () => {
    agent = await startAgent();
    await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`);
    await agent.ctl('volume', 'create', 'v', '--size', '4M', '--pool', 'p1');
    // qemu-io without -c reads commands from stdin: its NBD connection stays open meanwhile.
    const host = spawn('qemu-io', ['-f', 'raw', agent.nbdUrl('v')]);
    children.push(host);
    const hostOut = collect(host);
    host.stdin.write('write -P 0x42 0 4k\n');
    await expect.poll(() => hostOut(), { timeout: 10_000 }).toContain('wrote 4096/4096');
    const list = await agent.ctl<Array<{ connections: number }>>('volume', 'list');
    expect(list[0].connections).toBe(1);

    const refused = await agent.ctlRaw('volume', 'delete', 'v');
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/volume v is open by 1 NBD connection\(s\).*--force \(ERR_VOLUME_BUSY\)/);
    expect(await agent.ctl('volume', 'list')).toHaveLength(1);

    await agent.ctl('volume', 'delete', 'v', '--force');
    expect(await agent.ctl('volume', 'list')).toEqual([]);
    expect(await agent.ctl('lv', 'list')).toEqual([]);
    host.stdin.write('read -P 0x42 0 4k\n');
    host.stdin.end();
    await expect.poll(() => hostOut(), { timeout: 10_000 }).toMatch(/error|failed|Input\/output|disconnect/i);
  });
});

describe('shutdown with a host connected', () => {
  it('exits 0 on SIGTERM while a host holds the volume open, and its flushed data is kept', async () => {
    agent = await startAgent();
    await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`);
    await agent.ctl('volume', 'create', 'v', '--size', '4M', '--pool', 'p1');
    const host = spawn('qemu-io', ['-f', 'raw', agent.nbdUrl('v')]);
    children.push(host);
    const hostOut = collect(host);
    host.stdin.write('write -P 0x77 0 64k\n');
    await expect.poll(() => hostOut(), { timeout: 10_000 }).toContain('wrote 65536/65536');
    const started = Date.now();
    expect(await agent.kill('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    host.kill('SIGKILL');
    await agent.restart();
    const check = spawn('qemu-io', ['-f', 'raw', '-c', 'read -P 0x77 0 64k', agent.nbdUrl('v')]);
    children.push(check);
    const checkOut = collect(check);
    await expect.poll(() => checkOut(), { timeout: 10_000 }).toContain('read 65536/65536');
    expect(checkOut()).not.toMatch(/fail|mismatch/i);
  });
});
