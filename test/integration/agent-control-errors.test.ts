// Bad input through ctl and through the raw control socket gets clear errors with stable codes and
// exit codes, changes nothing, and never stops the agent from answering.
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient } from '../../agent/rpc/rpc-client.js';
import { eventsSubscribe } from '../../shared/rpc/events.js';
import { volumeCreate } from '../../shared/rpc/volumes.js';
import { type AgentProcess, startAgent } from '../helpers/agent-process.js';

let agent: AgentProcess;

beforeAll(async () => {
  agent = await startAgent();
  await agent.ctl('pool', 'add', 'p1', '--dir', `${agent.dir}/pool1`, '--capacity', '100M');
  await agent.ctl('volume', 'create', 'v1', '--size', '10M', '--pool', 'p1');
});

afterAll(async () => {
  await agent?.stop();
});

interface RawReply {
  id: number | string | null;
  result?: { pools: Array<{ name: string }> };
  error?: { code: number; message: string; data?: { code?: string } };
}

/** Sends raw bytes on a fresh connection and collects the reply lines until `count` arrived. */
function rawExchange(payload: string | Buffer, count: number): Promise<RawReply[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(agent.control);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only got: ${text}`));
    }, 10_000);
    socket.on('data', (d) => {
      text += d;
      const lines = text.split('\n').filter(Boolean);
      if (lines.length >= count) {
        clearTimeout(timer);
        socket.destroy();
        resolve(lines.map((l) => JSON.parse(l)));
      }
    });
    socket.on('error', reject);
    socket.write(payload);
  });
}

describe('ctl errors', () => {
  it('reports bad input with its code and exit code, and changes nothing', async () => {
    const before = await agent.ctl('volume', 'list');
    const cases: Array<[string[], number, RegExp]> = [
      [
        ['volume', 'create', 'Bad_Name', '--size', '1M', '--pool', 'p1'],
        2,
        /invalid volume name "Bad_Name".*\(ERR_INVALID_NAME\)/,
      ],
      [
        ['volume', 'create', 'v2', '--size', 'lots', '--pool', 'p1'],
        2,
        /invalid size "lots".*\(ERR_INVALID_SIZE\)/,
      ],
      [['volume', 'create', 'v2', '--pool', 'p1'], 2, /missing --size.*\(ERR_INVALID_ARGUMENT\)/s],
      [
        ['volume', 'create', 'v2', '--size', '1M', '--pool', 'p1', '--colour', 'red'],
        2,
        /Unknown option '--colour'/,
      ],
      [
        ['volume', 'create', 'v2', '--size', '1G', '--pool', 'p1'],
        5,
        /pool p1 has .*free \(\d+ bytes\), 1\.0G \(1073741824 bytes\) requested \(ERR_NO_SPACE\)/,
      ],
      [
        ['volume', 'create', 'v1', '--size', '1M', '--pool', 'p1'],
        4,
        /volume v1 already exists \(ERR_ALREADY_EXISTS\)/,
      ],
      [
        ['volume', 'create', 'v2', '--size', '1M', '--pool', 'nope'],
        3,
        /pool nope does not exist \(ERR_NOT_FOUND\)/,
      ],
      [['lv', 'delete', 'p1', 'v1'], 6, /LV p1\/v1 is mapped by volume v1 \(ERR_VOLUME_BUSY\)/],
      [['pool', 'remove', 'p1'], 6, /pool p1 still has 1 LV\(s\): v1.*\(ERR_VOLUME_BUSY\)/],
      [
        ['volume', 'delete', 'v1', '--epoch', '7'],
        7,
        /volume v1 is at epoch 1, the request expected epoch 7 \(ERR_STALE_EPOCH\)/,
      ],
      [['volume', 'delete', 'nope'], 3, /volume nope does not exist \(ERR_NOT_FOUND\)/],
      [
        ['pool', 'add', 'p2', '--dir', '/tmp/x', '--device', '/dev/null'],
        2,
        /exactly one of --dir or --device/,
      ],
      [
        ['pool', 'add', 'p2', '--device', '/dev/null'],
        2,
        /\/dev\/null is not a block device \(ERR_INVALID_ARGUMENT\)/,
      ],
      [['frobnicate'], 2, /unknown command "frobnicate"/],
    ];
    for (const [args, code, message] of cases) {
      const res = await agent.ctlRaw(...args);
      expect({ args, code: res.code }).toEqual({ args, code });
      expect(res.stderr).toMatch(/^error: /);
      expect(res.stderr).toMatch(message);
    }
    expect(await agent.ctl('volume', 'list')).toEqual(before);
    expect(await agent.ctl('lv', 'list')).toHaveLength(1);
  });

  it('shows one volume', async () => {
    expect(await agent.ctl('volume', 'show', 'v1')).toMatchObject({
      name: 'v1',
      epoch: 1,
      state: 'online',
      connections: 0,
    });
    const res = await agent.ctlRaw('--json', 'volume', 'show', 'nope');
    expect(res.code).toBe(3);
    expect(JSON.parse(res.stdout)).toMatchObject({
      error: { code: 'ERR_NOT_FOUND', message: 'volume nope does not exist', details: { volume: 'nope' } },
    });
  });

  it('says when no agent is listening', async () => {
    const res = await agent.ctlRaw('--control', `${agent.dir}/nothing.sock`, 'info');
    expect(res.code).toBe(9);
    expect(res.stderr).toMatch(
      /cannot reach the agent's control socket .*nothing\.sock \(ENOENT\).*\(ERR_UNREACHABLE\)/,
    );
  });

  it('refuses a second agent on the same control socket or state dir', async () => {
    const { spawnSync } = await import('node:child_process');
    const other = spawnSync(
      process.execPath,
      [
        agent.bundle,
        'serve',
        '--state-dir',
        `${agent.dir}/state2`,
        '--listen',
        '127.0.0.1:0',
        '--control',
        agent.control,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(other.status).toBe(4);
    expect(other.stderr).toMatch(
      /another agent is already listening on .*control\.sock \(ERR_ALREADY_EXISTS\)/,
    );
    const sameState = spawnSync(
      process.execPath,
      [
        agent.bundle,
        'serve',
        '--state-dir',
        agent.stateDir,
        '--listen',
        '127.0.0.1:0',
        '--control',
        `${agent.dir}/c2.sock`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(sameState.status).toBe(4);
    expect(sameState.stderr).toMatch(/state dir .* is in use by another agent \(pid \d+\)/);
    expect(await agent.ctl('volume', 'list')).toHaveLength(1);
  });
});

describe('control RPC robustness', () => {
  it('answers invalid JSON, unknown methods and bad params with JSON-RPC errors', async () => {
    const replies = await rawExchange(
      [
        '{not json',
        '{"jsonrpc":"2.0","id":2,"method":"no.such"}',
        '{"jsonrpc":"2.0","id":3,"method":"volume.create","params":{"name":"x","size":-5,"pool":"p1"}}',
        '{"jsonrpc":"2.0","id":4,"method":"volume.create","params":{"name":"x","size":1024,"pool":"p1","sise":1}}',
        '{"jsonrpc":"1.0","id":5,"method":"info"}',
        '[]',
        '',
      ].join('\n'),
      6,
    );
    const byId = new Map(replies.map((r) => [r.id, r]));
    expect(
      replies
        .filter((r) => r.id === null)
        .map((r) => r.error?.code)
        .sort(),
    ).toEqual([-32700, -32600].sort());
    expect(byId.get(2)?.error).toMatchObject({ code: -32601, message: 'unknown method "no.such"' });
    expect(byId.get(3)?.error).toMatchObject({
      code: -32602,
      message: 'invalid params for volume.create: size: must be positive',
      data: { code: 'ERR_INVALID_ARGUMENT' },
    });
    expect(byId.get(4)?.error?.message).toBe('invalid params for volume.create: unknown field sise');
    expect(byId.get(5)?.error?.code).toBe(-32600);
    expect(await agent.ctl('volume', 'list')).toHaveLength(1);
  });

  it('survives a line over 1 MiB and goes on serving the same connection', async () => {
    const huge = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const replies = await rawExchange(
      Buffer.concat([huge, Buffer.from('\n{"jsonrpc":"2.0","id":9,"method":"pool.list"}\n')]),
      2,
    );
    expect(replies[0].error).toMatchObject({ code: -32600 });
    expect(replies[0].error?.message).toMatch(/longer than 1048576 bytes/);
    expect(replies[1].id).toBe(9);
    expect(replies[1].result?.pools[0].name).toBe('p1');
  });

  it('carries FerryError codes in error.data and pushes events to subscribers', async () => {
    const client = await RpcClient.connect(agent.control);
    try {
      const events: Array<Record<string, unknown>> = [];
      client.onNotification((method, params) => {
        if (method === 'event') events.push(params as Record<string, unknown>);
      });
      const { lastSeq } = await client.call(eventsSubscribe, {});
      await expect(client.call(volumeCreate, { name: 'v1', size: 1024, pool: 'p1' })).rejects.toMatchObject({
        code: 'ERR_ALREADY_EXISTS',
      });
      await agent.ctl('volume', 'create', 'ev', '--size', '1M', '--pool', 'p1');
      await agent.ctl('volume', 'delete', 'ev', '--epoch', '1');
      await expect.poll(() => events.map((e) => e.type)).toEqual(['volume.created', 'volume.deleted']);
      expect(events[0]).toMatchObject({ type: 'volume.created', volume: 'ev', seq: lastSeq + 1 });
    } finally {
      client.close();
    }
  });
});
