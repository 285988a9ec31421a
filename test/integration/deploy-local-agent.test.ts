// Local agents (the demo lab's appliances): started detached with the agent dir layout of an
// appliance, found again by a second start, replaced when the bundle changes, stopped with SIGTERM.
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLocalAgent } from '../../main/core/agent-link/index.js';
import { startLocalAgent, stopLocalAgent } from '../../main/core/deploy/index.js';
import { agentInfo } from '../../shared/rpc/info.js';
import { copyAgentBundle } from '../helpers/agent-bundle.js';

let dir: string;
let bundle: string;
const pids = new Set<number>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-local-'));
  mkdirSync(join(dir, 'local'));
  bundle = copyAgentBundle(join(dir, 'local'));
});

afterAll(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('local agents', () => {
  it('starts once, is found again, is replaced by a new bundle, and stops', async () => {
    const agentDir = join(dir, 'lab-a');
    const first = await startLocalAgent({ agentDir, nbdListen: '127.0.0.1:0', bundlePath: bundle });
    pids.add(first.pid);
    expect(first.started).toBe(true);
    const link = await connectLocalAgent(first.controlSocket);
    expect((await link.call(agentInfo)).pid).toBe(first.pid);
    link.close();

    const again = await startLocalAgent({ agentDir, nbdListen: '127.0.0.1:0', bundlePath: bundle });
    expect(again).toMatchObject({ started: false, pid: first.pid });

    const v2 = join(dir, 'local', 'v2.mjs');
    copyFileSync(bundle, v2);
    appendFileSync(v2, '\n// v2\n');
    const upgraded = await startLocalAgent({ agentDir, nbdListen: '127.0.0.1:0', bundlePath: v2 });
    pids.add(upgraded.pid);
    expect(upgraded.started).toBe(true);
    expect(upgraded.pid).not.toBe(first.pid);
    expect(upgraded.sha256).not.toBe(first.sha256);

    expect(await stopLocalAgent(agentDir)).toBe(true);
    expect(await stopLocalAgent(agentDir)).toBe(false);
  });
});
