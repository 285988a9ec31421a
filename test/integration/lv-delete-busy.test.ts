// `lv delete` of an LV that someone is connected to: an LV exported to a peer agent (a move target)
// with a peer connected is refused, naming the peer, until --force, which disconnects the peer after
// its in-flight requests and then deletes; an LV that a volume maps (hosts use it through the vv) is
// refused whatever the flag. Real qemu-io clients, over TLS-PSK for the peer.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgent } from '../helpers/agent-process.js';

let agent: AgentProcess | undefined;
const children: ChildProcessWithoutNullStreams[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await agent?.stop();
  agent = undefined;
});

/** qemu-io reading commands from stdin: its NBD connection stays open until stdin ends. */
function interactive(args: string[]): { send(line: string): void; output(): string; end(): void } {
  const child = spawn('qemu-io', args);
  children.push(child);
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  child.stderr.on('data', (d) => (text += d));
  return { send: (line) => child.stdin.write(`${line}\n`), output: () => text, end: () => child.stdin.end() };
}

describe('lv delete of an LV in use', () => {
  it('refuses while a peer is connected to its export, naming it; --force disconnects and deletes', async () => {
    agent = await startAgent();
    await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`);
    await agent.ctl('lv', 'create', 'p1', 'target', '--size', '4M');
    const key = randomBytes(32).toString('hex');
    await agent.ctl('lv', 'export', 'p1', 'target', '--psk-identity', 'peer1', '--psk-key', key);

    const creds = join(agent.dir, 'peer-psk');
    mkdirSync(creds, { mode: 0o700 });
    writeFileSync(join(creds, 'keys.psk'), `peer1:${key}\n`, { mode: 0o600 });
    const peer = interactive([
      '--object',
      `tls-creds-psk,id=tls0,endpoint=client,dir=${creds},username=peer1`,
      '--image-opts',
      `driver=nbd,host=127.0.0.1,port=${agent.nbdPort},export=p1/target,tls-creds=tls0`,
    ]);
    peer.send('write -P 0x6e 0 64k');
    await expect.poll(() => peer.output(), { timeout: 10_000 }).toContain('wrote 65536/65536');

    const refused = await agent.ctlRaw('lv', 'delete', 'p1', 'target');
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(
      /LV p1\/target is in use: it is exported to peer agents and connected: 127\.0\.0\.1:\d+ \(connection \d+, PSK identity peer1\).*lv delete --force \(ERR_VOLUME_BUSY\)/,
    );
    expect((await agent.ctl<Array<{ name: string }>>('lv', 'list')).map((l) => l.name)).toEqual(['target']);
    // The refusal changed nothing for the peer.
    peer.send('read -P 0x6e 0 64k');
    await expect.poll(() => peer.output(), { timeout: 10_000 }).toContain('read 65536/65536');
    expect(peer.output()).not.toMatch(/verification failed/);

    const forced = await agent.ctlRaw('lv', 'delete', 'p1', 'target', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(
      /LV p1\/target deleted; disconnected 127\.0\.0\.1:\d+ .*PSK identity peer1/,
    );
    expect(await agent.ctl('lv', 'list')).toEqual([]);
    expect(await agent.ctl('lv', 'exports')).toEqual([]);
    peer.send('read -P 0x6e 0 64k');
    peer.end();
    await expect
      .poll(() => peer.output(), { timeout: 10_000 })
      .toMatch(/error|failed|Input\/output|disconnect/i);
  });

  it('refuses an exported LV with no peer connected until --force, and says nobody is connected', async () => {
    agent = await startAgent();
    await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`);
    await agent.ctl('lv', 'create', 'p1', 'idle', '--size', '1M');
    const key = randomBytes(32).toString('hex');
    await agent.ctl('lv', 'export', 'p1', 'idle', '--psk-identity', 'peer2', '--psk-key', key);
    const refused = await agent.ctlRaw('lv', 'delete', 'p1', 'idle');
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain('(no peer connected now)');
    const forced = await agent.ctlRaw('lv', 'delete', 'p1', 'idle', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toBe('LV p1/idle deleted\n');
  });

  it('refuses an LV that a volume maps while a host uses it, even with --force', async () => {
    agent = await startAgent();
    await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`);
    await agent.ctl('volume', 'create', 'v', '--size', '4M', '--pool', 'p1');
    const [lv] = await agent.ctl<Array<{ name: string; mappedBy: string | null }>>('lv', 'list');
    expect(lv.mappedBy).toBe('v');
    const host = interactive(['-f', 'raw', agent.nbdUrl('v')]);
    host.send('write -P 0x21 0 4k');
    await expect.poll(() => host.output(), { timeout: 10_000 }).toContain('wrote 4096/4096');

    for (const force of [[], ['--force']]) {
      const refused = await agent.ctlRaw('lv', 'delete', 'p1', lv.name, ...force);
      expect(refused.code).toBe(6);
      expect(refused.stderr).toMatch(
        new RegExp(
          `LV p1/${lv.name} is mapped by volume v; hosts connected: 127\\.0\\.0\\.1:\\d+ \\(connection \\d+\\); delete the volume instead`,
        ),
      );
    }
    host.send('read -P 0x21 0 4k');
    await expect.poll(() => host.output(), { timeout: 10_000 }).toContain('read 4096/4096');
    expect(host.output()).not.toMatch(/verification failed/);
    host.end();
  });
});
