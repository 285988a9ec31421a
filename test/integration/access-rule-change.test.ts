// Rule changes while a host works: fio (nbd engine, crc32c verify) from an allowed address keeps
// running without one error through a series of rule changes, while a client from an address the
// new rules refuse is disconnected.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgent } from '../helpers/agent-process.js';
import { RawNbd } from './access-raw-client.js';

let agent: AgentProcess | undefined;
afterEach(async () => {
  RawNbd.closeAll();
  await agent?.stop();
  agent = undefined;
});

interface FioRun {
  done: Promise<{ code: number | null; output: string }>;
}

function startFio(uri: string, seconds: number): FioRun {
  const args = [
    '--name=host',
    '--ioengine=nbd',
    `--uri=${uri}`,
    '--rw=randwrite',
    '--bs=4k',
    '--size=16M',
    '--iodepth=8',
    '--time_based',
    `--runtime=${seconds}`,
    '--verify=crc32c',
    '--verify_backlog=256',
    '--verify_fatal=1',
    '--output-format=json',
  ];
  const proc = spawn('fio', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => (output += d));
  proc.stderr.on('data', (d) => (output += d));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => {
    proc.on('close', (code) => resolve({ code, output }));
    proc.on('error', (err) => resolve({ code: -1, output: `${output}\n${err.message}` }));
  });
  return { done };
}

describe('a rule change during fio traffic', () => {
  it('never disturbs the allowed client, and closes the one the new rules refuse', async () => {
    agent = await startAgent();
    await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`);
    await agent.ctl('volume', 'create', 'vol1', '--size', '32M', '--pool', 'p1');

    // Allowed by the default (127.0.0.0/8) until the rules below narrow to 127.0.0.1.
    const other = await RawNbd.connect(agent.nbdPort, '127.0.0.2');
    expect((await other.go('vol1')).error).toBeUndefined();

    const fio = startFio(`nbd://127.0.0.1:${agent.nbdPort}/vol1`, 6);
    await new Promise((r) => setTimeout(r, 1000));
    const changes: string[][] = [
      ['--allow', '127.0.0.0/8,::1,10.0.0.0/8'],
      ['--host-tls', 'allow'],
      ['--read-write'],
      ['--allow', '127.0.0.1'],
      ['--allow', '127.0.0.1,192.0.2.0/24'],
    ];
    const disconnected: string[] = [];
    for (const change of changes) {
      const result = await agent.ctl<{ disconnected: string[] }>('volume', 'access', 'vol1', ...change);
      disconnected.push(...result.disconnected);
      await new Promise((r) => setTimeout(r, 400));
    }
    await agent.ctl('volume', 'psk', 'add', 'vol1', '--identity', 'host1');

    const { code, output } = await fio.done;
    expect(code, output).toBe(0);
    const report = JSON.parse(output.slice(output.indexOf('{')));
    const job = report.jobs[0];
    expect(job.error).toBe(0);
    expect(job.write.io_bytes).toBeGreaterThan(0);
    // Only 127.0.0.2 was dropped, by the change to 127.0.0.1 alone.
    expect(disconnected).toHaveLength(1);
    expect(disconnected[0]).toMatch(/^127\.0\.0\.2:\d+ \(connection \d+\)$/);
    expect(await other.waitClosed(5000)).toBe(true);
    expect(agent.output()).toMatch(
      /volume vol1: closing 127\.0\.0\.2:\d+ \(connection \d+\) after in-flight requests/,
    );
    // Every change is an event for the console's audit log, the disconnect included.
    const events = (await agent.ctlRaw('events')).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; change?: string; disconnected?: string[] })
      .filter((e) => e.type === 'volume.access-changed');
    expect(events).toHaveLength(changes.length + 1);
    expect(events.at(-1)?.change).toBe('PSK identity host1 added with a fresh key');
    expect(events.flatMap((e) => e.disconnected)).toEqual(disconnected);
  });
});
