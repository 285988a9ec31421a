// The RPC link's own rules, against a scripted peer on a socket: timeouts, replies out of order,
// garbage lines ignored, a malformed result refused, notifications delivered.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentLink, connectLocalAgent } from '../../main/core/agent-link/index.js';
import { agentInfo } from '../../shared/rpc/info.js';

let dir: string;
let server: net.Server;
let link: AgentLink;
let peer: net.Socket;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-rpc-'));
  const path = join(dir, 's.sock');
  const accepted = new Promise<net.Socket>((resolve) => {
    server = net.createServer((s) => resolve(s));
  });
  await new Promise<void>((r) => server.listen(path, r));
  link = await connectLocalAgent(path, { defaultTimeoutMs: 2000 });
  peer = await accepted;
});

afterEach(() => {
  link.close();
  peer.destroy();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Requests as the peer receives them, one per line. */
function requests(count: number): Promise<{ id: number; method: string }[]> {
  return new Promise((resolve) => {
    let buffer = '';
    const got: { id: number; method: string }[] = [];
    peer.on('data', (chunk) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) got.push(JSON.parse(line));
      if (got.length >= count) resolve(got);
    });
  });
}

describe('agent link RPC', () => {
  it('matches replies by id, ignores garbage, and times out a silent call', async () => {
    const seen = requests(3);
    const a = link.callRaw('a');
    const b = link.callRaw('b');
    const silent = link.callRaw('silent', {}, { timeoutMs: 200 });
    const [ra, rb] = await seen;
    peer.write('not json at all\n{"jsonrpc":"2.0","id":999,"result":1}\n');
    peer.write(`${JSON.stringify({ jsonrpc: '2.0', id: rb.id, result: 'B' })}\n`);
    peer.write(`${JSON.stringify({ jsonrpc: '2.0', id: ra.id, result: 'A' })}\n`);
    expect(await a).toBe('A');
    expect(await b).toBe('B');
    await expect(silent).rejects.toMatchObject({
      code: 'ERR_TIMEOUT',
      message: expect.stringMatching(/silent/),
    });
  });

  it('refuses a result that does not match the schema', async () => {
    const seen = requests(1);
    const call = link.call(agentInfo);
    const [req] = await seen;
    peer.write(`${JSON.stringify({ jsonrpc: '2.0', id: req.id, result: { version: 7 } })}\n`);
    await expect(call).rejects.toMatchObject({ code: 'ERR_PROTOCOL' });
  });

  it('maps an error reply without a Ferry code by its number, and delivers notifications', async () => {
    const notes: string[] = [];
    link.onNotification((method) => notes.push(method));
    const seen = requests(1);
    const call = link.callRaw('x');
    const [req] = await seen;
    peer.write(
      `${JSON.stringify({ jsonrpc: '2.0', method: 'event', params: { seq: 1, time: 't', type: 'x' } })}\n`,
    );
    peer.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: req.id, error: { code: -32004, message: 'busy' } })}\n`,
    );
    await expect(call).rejects.toMatchObject({ code: 'ERR_VOLUME_BUSY', message: 'busy' });
    expect(notes).toEqual(['event']);
  });
});
