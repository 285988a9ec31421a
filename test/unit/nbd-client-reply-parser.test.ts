// The reply parser on byte streams cut anywhere (TCP may split a reply at any byte), and on input a
// broken or hostile server could send. Real servers rarely split replies on loopback, so this is
// where the slow paths get exercised.

import { describe, expect, it } from 'vitest';
import { BackendError } from '../../agent/backend/block-backend.js';
import { Command } from '../../agent/nbd/client/command.js';
import { NbdProtocolError, ReplyParser, type ReplySink } from '../../agent/nbd/client/reply-parser.js';
import {
  Cmd,
  encodeSimpleReply,
  encodeStructuredHeader,
  NbdErrno,
  ReplyFlag,
  ReplyType,
} from '../../agent/nbd/wire.js';

function harness(allocationContext: number | null = 7) {
  const inFlight = new Map<number, Command>();
  const sink: ReplySink = {
    find: (cookie) => inFlight.get(cookie),
    complete: (cmd) => {
      inFlight.delete(cmd.cookie);
      cmd.finish();
    },
  };
  const parser = new ReplyParser(sink, allocationContext);
  const add = (cookie: number, type: number, offset: number, length: number, into: Buffer | null = null) => {
    const { cmd, done } = Command.create(type, 0, offset, length, null, into);
    cmd.cookie = cookie;
    inFlight.set(cookie, cmd);
    done.catch(() => {});
    return { cmd, done };
  };
  return { parser, add, inFlight };
}

function chunk(cookie: number, flags: number, type: number, payload: Buffer): Buffer {
  return Buffer.concat([encodeStructuredHeader(BigInt(cookie), flags, type, payload.length), payload]);
}
function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
function u32(...ns: number[]): Buffer {
  const b = Buffer.alloc(4 * ns.length);
  ns.forEach((n, i) => {
    b.writeUInt32BE(n, 4 * i);
  });
  return b;
}

/** A stream of replies for: a structured READ (data + hole + data), a simple WRITE, block status, an error. */
function scenario() {
  const h = harness();
  const into = Buffer.alloc(64, 0xff);
  const read = h.add(1, Cmd.READ, 1000, 64, into);
  const write = h.add(2, Cmd.WRITE, 0, 512);
  const status = h.add(3, Cmd.BLOCK_STATUS, 0, 4096);
  const failing = h.add(4, Cmd.WRITE, 0, 512);
  const data1 = Buffer.alloc(16, 0xaa);
  const data2 = Buffer.alloc(32, 0xbb);
  const message = Buffer.from('no space');
  const stream = Buffer.concat([
    chunk(1, 0, ReplyType.OFFSET_DATA, Buffer.concat([u64(1000), data1])),
    encodeSimpleReply(2n, 0),
    chunk(1, 0, ReplyType.OFFSET_HOLE, Buffer.concat([u64(1016), u32(16)])),
    chunk(3, ReplyFlag.DONE, ReplyType.BLOCK_STATUS, u32(7, 1024, 0, 3072, 3)),
    chunk(
      4,
      ReplyFlag.DONE,
      ReplyType.ERROR,
      Buffer.concat([u32(NbdErrno.ENOSPC), Buffer.from([0, message.length]), message]),
    ),
    chunk(1, ReplyFlag.DONE, ReplyType.OFFSET_DATA, Buffer.concat([u64(1032), data2])),
  ]);
  const expected = Buffer.concat([data1, Buffer.alloc(16), data2]);
  return { h, into, read, write, status, failing, stream, expected };
}

describe('ReplyParser', () => {
  it('parses a stream fed in one piece', async () => {
    const s = scenario();
    s.h.parser.feed(s.stream);
    await s.read.done;
    expect(s.into.equals(s.expected)).toBe(true);
    await s.write.done;
    expect((await s.status.done).extents).toEqual([
      { length: 1024, flags: 0 },
      { length: 3072, flags: 3 },
    ]);
    await expect(s.failing.done).rejects.toMatchObject({ errno: 'ENOSPC', message: /no space/ });
    expect(s.h.inFlight.size).toBe(0);
    expect(s.h.parser.idle).toBe(true);
  });

  it('parses the same stream cut at every possible place, and byte by byte', async () => {
    const total = scenario().stream.length;
    for (let cut = 1; cut < total; cut++) {
      const s = scenario();
      s.h.parser.feed(s.stream.subarray(0, cut));
      s.h.parser.feed(s.stream.subarray(cut));
      await s.read.done;
      expect(s.into.equals(s.expected)).toBe(true);
      await expect(s.failing.done).rejects.toBeInstanceOf(BackendError);
    }
    const s = scenario();
    for (let i = 0; i < s.stream.length; i++) s.h.parser.feed(s.stream.subarray(i, i + 1));
    await s.read.done;
    expect(s.into.equals(s.expected)).toBe(true);
  });

  it('reads a simple READ reply straight into the buffer', async () => {
    const h = harness(null);
    const into = Buffer.alloc(8);
    const read = h.add(9, Cmd.READ, 0, 8, into);
    h.parser.feed(Buffer.concat([encodeSimpleReply(9n, 0), Buffer.from('abcdefgh')]));
    await read.done;
    expect(into.toString()).toBe('abcdefgh');
  });

  const bad: Array<[string, (h: ReturnType<typeof harness>) => Buffer]> = [
    ['a bad magic', () => Buffer.alloc(20, 0x41)],
    ['an unknown cookie', () => encodeSimpleReply(99n, 0)],
    [
      'data outside the request',
      (h) => {
        h.add(1, Cmd.READ, 0, 8, Buffer.alloc(8));
        return chunk(1, ReplyFlag.DONE, ReplyType.OFFSET_DATA, Buffer.concat([u64(4), Buffer.alloc(8)]));
      },
    ],
    [
      'a short read marked done',
      (h) => {
        h.add(1, Cmd.READ, 0, 8, Buffer.alloc(8));
        return chunk(1, ReplyFlag.DONE, ReplyType.OFFSET_DATA, Buffer.concat([u64(0), Buffer.alloc(4)]));
      },
    ],
    [
      'data for a write',
      (h) => {
        h.add(1, Cmd.WRITE, 0, 8);
        return chunk(1, ReplyFlag.DONE, ReplyType.OFFSET_DATA, Buffer.concat([u64(0), Buffer.alloc(8)]));
      },
    ],
    [
      'an unknown chunk type',
      (h) => {
        h.add(1, Cmd.FLUSH, 0, 0);
        return chunk(1, ReplyFlag.DONE, 77, Buffer.alloc(4));
      },
    ],
    [
      'a huge chunk length',
      (h) => {
        h.add(1, Cmd.BLOCK_STATUS, 0, 8);
        return encodeStructuredHeader(1n, ReplyFlag.DONE, ReplyType.BLOCK_STATUS, 0xffffffff);
      },
    ],
  ];
  for (const [what, make] of bad) {
    it(`throws NbdProtocolError on ${what}`, () => {
      const h = harness();
      expect(() => h.parser.feed(make(h))).toThrow(NbdProtocolError);
    });
  }
});
