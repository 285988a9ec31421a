// The console's RPC link against a real agent on a local UNIX socket (the demo lab's transport):
// typed calls, agent errors as FerryErrors, an unknown method, events, and the agent going away.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentLink, connectLocalAgent, isMethodNotFound } from '../../main/core/agent-link/index.js';
import type { AgentEvent } from '../../shared/rpc/events.js';
import { agentInfo } from '../../shared/rpc/info.js';
import { poolAdd, poolList } from '../../shared/rpc/pools.js';
import { copyAgentBundle } from '../helpers/agent-bundle.js';

let dir: string;
let agent: ChildProcess;
let link: AgentLink;
const control = () => join(dir, 'control.sock');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-link-'));
  const bundle = copyAgentBundle(dir);
  agent = spawn(
    process.execPath,
    [bundle, 'serve', '--state-dir', join(dir, 'state'), '--listen', '127.0.0.1:0', '--control', control()],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 200 && !existsSync(control()); i++) await new Promise((r) => setTimeout(r, 25));
  link = await connectLocalAgent(control(), { label: 'local agent' });
});

afterAll(async () => {
  link?.close();
  if (agent && agent.exitCode === null) {
    const exited = new Promise((r) => agent.once('exit', r));
    agent.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('agent link over a local socket', () => {
  it('calls a typed method and validates its result', async () => {
    const info = await link.call(agentInfo);
    expect(info.pid).toBe(agent.pid);
    expect(info.control).toBe(control());
  });

  it("carries the agent's error code", async () => {
    await expect(
      link.call(poolAdd, { kind: 'dir', name: 'p1', path: 'relative/path' }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('reports an unknown method as such', async () => {
    const err = await link.callRaw('no.such.method').catch((e: unknown) => e);
    expect(isMethodNotFound(err)).toBe(true);
    expect(err).toMatchObject({ code: 'ERR_UNSUPPORTED' });
  });

  it('receives events after subscribing', async () => {
    const events: AgentEvent[] = [];
    link.onEvent((e) => events.push(e));
    await link.subscribe();
    mkdirSync(join(dir, 'pool1'));
    await link.call(poolAdd, { kind: 'dir', name: 'pool1', path: join(dir, 'pool1') });
    for (let i = 0; i < 100 && !events.some((e) => e.type === 'pool.added'); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(events.find((e) => e.type === 'pool.added')).toMatchObject({ pool: 'pool1' });
    expect((await link.call(poolList)).pools.map((p) => p.name)).toEqual(['pool1']);
  });

  it('fails pending and later calls with ERR_UNREACHABLE when the agent goes away', async () => {
    const closed = new Promise<void>((r) => link.onClose(() => r()));
    const exited = new Promise((r) => agent.once('exit', r));
    agent.kill('SIGTERM');
    await exited;
    await closed;
    await expect(link.call(agentInfo)).rejects.toMatchObject({ code: 'ERR_UNREACHABLE' });
    await expect(connectLocalAgent(control())).rejects.toMatchObject({ code: 'ERR_UNREACHABLE' });
  });
});
