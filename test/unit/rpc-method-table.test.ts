// MethodTable: params and replies are checked against the shared schemas; errors carry their
// FerryError code; framing caps a line's size and the connection goes on after it.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LineSplitter } from '../../agent/rpc/line-splitter.js';
import { type CallContext, MethodTable } from '../../agent/rpc/method-table.js';
import { FerryError } from '../../shared/errors.js';
import { defineMethod } from '../../shared/rpc/jsonrpc.js';
import { lvCreate } from '../../shared/rpc/lvs.js';
import { poolAdd } from '../../shared/rpc/pools.js';

const silent = { info() {}, warn() {}, error() {}, child: () => silent };
const ctx: CallContext = { connectionId: 1, notify() {}, onClose() {} };

function table(): MethodTable {
  const t = new MethodTable(silent);
  t.register(lvCreate, ({ pool, name, size }) => {
    if (pool === 'full') throw new FerryError('ERR_NO_SPACE', 'pool full has 0B free', { free: 0 });
    return { pool, name, size, allocated: 0, path: `/p/${name}.img`, mappedBy: null, createdAt: 'now' };
  });
  t.register(defineMethod('broken', z.object({}).optional(), z.object({ ok: z.literal(true) })), () => ({
    ok: false as unknown as true,
  }));
  t.register(poolAdd, () => {
    throw new Error('boom');
  });
  return t;
}

const call = (method: string, params: unknown, opts: { notification?: boolean } = {}) =>
  table().handle(
    JSON.stringify({ jsonrpc: '2.0', ...(opts.notification ? {} : { id: 1 }), method, params }),
    ctx,
  );

describe('MethodTable', () => {
  it('validates params and says which field was wrong and why', async () => {
    expect(await call('lv.create', { pool: 'p', name: 'Bad!', size: 1.5 })).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: {
        code: -32602,
        message:
          "invalid params for lv.create: name: must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit; size: must be a whole number of bytes",
        data: { code: 'ERR_INVALID_ARGUMENT' },
      },
    });
    const missing = await call('lv.create', { pool: 'p' });
    expect(missing && 'error' in missing && missing.error.message).toMatch(
      /name: must be a string; size: must be a number/,
    );
  });

  it('returns validated results, and FerryErrors with their code and details', async () => {
    expect(await call('lv.create', { pool: 'p', name: 'a', size: 4096 })).toMatchObject({
      result: { name: 'a' },
    });
    expect(await call('lv.create', { pool: 'full', name: 'a', size: 4096 })).toMatchObject({
      error: {
        code: -32003,
        message: 'pool full has 0B free',
        data: { code: 'ERR_NO_SPACE', details: { free: 0 } },
      },
    });
  });

  it('turns a malformed reply or an unexpected exception into an internal error', async () => {
    expect(await call('broken', {})).toMatchObject({
      error: { code: -32603, data: { code: 'ERR_INTERNAL' } },
    });
    expect(await call('pool.add', { kind: 'dir', name: 'p', path: '/x' })).toMatchObject({
      error: { code: -32603, message: 'boom', data: { code: 'ERR_INTERNAL' } },
    });
  });

  it('does not answer notifications', async () => {
    expect(
      await call('lv.create', { pool: 'p', name: 'a', size: 4096 }, { notification: true }),
    ).toBeUndefined();
  });
});

describe('LineSplitter', () => {
  it('splits lines across chunks and reports an overlong line once, then goes on', () => {
    const s = new LineSplitter(10);
    expect(s.feed(Buffer.from('ab'))).toEqual([]);
    expect(s.feed(Buffer.from('c\r\nde\n\n'))).toEqual([
      { kind: 'line', line: 'abc' },
      { kind: 'line', line: 'de' },
    ]);
    expect(s.feed(Buffer.from('0123456789'))).toEqual([]);
    expect(s.feed(Buffer.from('x'))).toEqual([{ kind: 'overflow' }]);
    expect(s.feed(Buffer.from('more junk'))).toEqual([]);
    expect(s.feed(Buffer.from('\nok\n'))).toEqual([{ kind: 'line', line: 'ok' }]);
  });
});

describe('MethodTable system errors', () => {
  it('reports a failed system call as ERR_IO with its errno', async () => {
    const t = new MethodTable(silent);
    t.register(lvCreate, () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    const res = await t.handle(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'lv.create',
        params: { pool: 'p', name: 'a', size: 1 },
      }),
      ctx,
    );
    expect(res).toMatchObject({
      error: {
        code: -32006,
        message: 'ENOSPC: no space left on device, write',
        data: { code: 'ERR_IO', details: { errno: 'ENOSPC' } },
      },
    });
  });
});
