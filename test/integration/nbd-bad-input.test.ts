// Malformed handshakes and requests from a raw socket (past CVEs of other servers): each gets the
// protocol's answer (an error reply, or the connection closed where the spec says so), a log
// line, and never disturbs the next client.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cmd, CmdFlag, Info, NbdErrno, Opt, REQUEST_MAGIC, Rep, ReplyType } from '../../agent/nbd/wire.js';
import {
  type InProcessServer,
  sparseFile,
  startInProcessServer,
  tempDir,
} from '../helpers/nbd-file-server.js';
import { goData, metaContextData, RawNbdClient } from '../helpers/nbd-raw-client.js';

const SIZE = 4 * 1024 * 1024;
let dir: { dir: string; cleanup: () => Promise<void> };
let srv: InProcessServer;
const clients: RawNbdClient[] = [];

async function client(): Promise<RawNbdClient> {
  const c = await RawNbdClient.connect(srv.port);
  clients.push(c);
  return c;
}

/** Another client still gets served: handshake, a READ answered with data. */
async function expectServed(): Promise<void> {
  const c = await client();
  await c.handshake('disk', { structured: true });
  await c.sendRequest(Cmd.READ, { cookie: 7n, offset: 0, length: 4096 });
  const reply = await c.readReply();
  expect(reply.type).toBe(ReplyType.OFFSET_DATA);
  expect(reply.payload.length).toBe(8 + 4096);
  await c.sendRequest(Cmd.DISC);
  expect(await c.closedWithin()).toBe(true);
}

/** A raw request header, with a 64-bit offset given as a bigint (to reach past 2^53). */
function rawRequest(type: number, offset: bigint, length: number, flags = 0, cookie = 1n): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32BE(REQUEST_MAGIC, 0);
  b.writeUInt16BE(flags, 4);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(cookie, 8);
  b.writeBigUInt64BE(offset, 16);
  b.writeUInt32BE(length, 24);
  return b;
}

function errorOf(reply: {
  structured: boolean;
  errorOrFlags: number;
  type: number;
  payload: Buffer;
}): number {
  if (!reply.structured) return reply.errorOrFlags;
  expect(reply.type).toBe(ReplyType.ERROR);
  return reply.payload.readUInt32BE(0);
}

beforeAll(async () => {
  dir = await tempDir();
  const file = await sparseFile(join(dir.dir, 'disk.img'), SIZE);
  srv = await startInProcessServer({ file, name: 'disk', handshakeTimeoutMs: 1_500, maxHandshaking: 4 });
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await srv?.close();
  await dir?.cleanup();
});

describe('handshake', () => {
  it('answers an export name length of 0xffffffff with ERR_INVALID and keeps the stream', async () => {
    const c = await client();
    await c.greet();
    const data = goData('disk');
    data.writeUInt32BE(0xffffffff, 0);
    await c.sendOption(Opt.GO, data);
    const [reply] = await c.readOptionReplies();
    expect(reply.type).toBe(Rep.ERR_INVALID);
    await c.sendOption(Opt.GO, goData('disk'));
    expect((await c.readOptionReplies()).at(-1)!.type).toBe(Rep.ACK);
    expect(srv.logs.some((l) => l.includes('export name length 4294967295'))).toBe(true);
    await expectServed();
  });

  it('refuses export names over 4096 bytes: ERR_INVALID for GO, a hard disconnect for EXPORT_NAME', async () => {
    const c = await client();
    await c.greet();
    await c.sendOption(Opt.GO, goData('a'.repeat(5000)));
    expect((await c.readOptionReplies())[0].type).toBe(Rep.ERR_INVALID);
    await c.sendOption(Opt.EXPORT_NAME, Buffer.from('a'.repeat(5000)));
    expect(await c.closedWithin()).toBe(true);
    await expectServed();
  });

  it('caps error messages at 4096 bytes', async () => {
    const c = await client();
    await c.greet();
    await c.sendOption(Opt.GO, goData('x'.repeat(4096)));
    const [reply] = await c.readOptionReplies();
    expect(reply.type).toBe(Rep.ERR_UNKNOWN);
    expect(reply.data.length).toBeLessThanOrEqual(4096);
    await expectServed();
  });

  it('disconnects a client announcing more than 1 MiB of option data (or 4 GiB)', async () => {
    for (const length of [2 * 1024 * 1024, 0xffffffff]) {
      const c = await client();
      await c.greet();
      const header = Buffer.alloc(16);
      header.writeBigUInt64BE(0x49484156454f5054n, 0);
      header.writeUInt32BE(Opt.INFO, 8);
      header.writeUInt32BE(length, 12);
      await c.write(header);
      expect(await c.closedWithin()).toBe(true);
    }
    expect(srv.logs.some((l) => /carries 2097152 bytes/.test(l))).toBe(true);
    await expectServed();
  });

  it('answers options in an unexpected order with errors, not a lost stream', async () => {
    const c = await client();
    await c.greet();
    // SET_META_CONTEXT needs structured replies first.
    await c.sendOption(Opt.SET_META_CONTEXT, metaContextData('disk', ['base:allocation']));
    expect((await c.readOptionReplies())[0].type).toBe(Rep.ERR_INVALID);
    await c.sendOption(Opt.STRUCTURED_REPLY);
    expect((await c.readOptionReplies())[0].type).toBe(Rep.ACK);
    await c.sendOption(Opt.STRUCTURED_REPLY);
    expect((await c.readOptionReplies())[0].type).toBe(Rep.ERR_INVALID);
    await c.sendOption(Opt.LIST, Buffer.from('junk'));
    expect((await c.readOptionReplies())[0].type).toBe(Rep.ERR_INVALID);
    await c.sendOption(99, Buffer.alloc(100, 1));
    expect((await c.readOptionReplies())[0].type).toBe(Rep.ERR_UNSUP);
    await c.sendOption(Opt.EXTENDED_HEADERS);
    expect((await c.readOptionReplies())[0].type).toBe(Rep.ERR_UNSUP);
    await c.sendOption(Opt.STARTTLS);
    expect((await c.readOptionReplies())[0].type).toBe(Rep.ERR_POLICY);
    // Meta contexts were never selected: BLOCK_STATUS is refused after GO.
    await c.sendOption(Opt.GO, goData('disk', [Info.NAME]));
    const replies = await c.readOptionReplies();
    expect(replies.at(-1)!.type).toBe(Rep.ACK);
    const name = replies.find((r) => r.type === Rep.INFO && r.data.readUInt16BE(0) === Info.NAME);
    expect(name?.data.subarray(2).toString()).toBe('disk');
    await c.sendRequest(Cmd.BLOCK_STATUS, { offset: 0, length: 4096 });
    expect(errorOf(await c.readReply())).toBe(NbdErrno.EINVAL);
    await expectServed();
  });

  it('survives clients that leave mid-negotiation, and answers ABORT', async () => {
    const a = await client();
    await a.greet();
    await a.write(Buffer.from('IHAVEO'));
    a.destroy();
    const b = await client();
    await b.greet();
    await b.sendOption(Opt.GO, goData('disk').subarray(0, 3));
    b.destroy();
    const c = await client();
    await c.greet();
    await c.sendOption(Opt.ABORT);
    expect((await c.readOptionReply()).type).toBe(Rep.ACK);
    expect(await c.closedWithin()).toBe(true);
    await expectServed();
  });

  it('refuses a client without fixed newstyle', async () => {
    const c = await client();
    await c.greet(0);
    expect(await c.closedWithin()).toBe(true);
    await expectServed();
  });
});

describe('transmission', () => {
  it('answers WRITE over 32 MiB with EOVERFLOW and consumes its payload', async () => {
    const c = await client();
    await c.handshake('disk', { structured: true });
    const length = 33 * 1024 * 1024;
    await c.write(rawRequest(Cmd.WRITE, 0n, length, 0, 5n));
    await c.write(Buffer.alloc(length, 0x55));
    const reply = await c.readReply(20_000);
    expect(reply.cookie).toBe(5n);
    expect(errorOf(reply)).toBe(NbdErrno.EOVERFLOW);
    // The payload was skipped, not parsed as requests: the next request is answered.
    await c.sendRequest(Cmd.READ, { cookie: 6n, offset: 0, length: 512 });
    const read = await c.readReply();
    expect(read.cookie).toBe(6n);
    expect(read.payload.subarray(8).equals(Buffer.alloc(512))).toBe(true);
    await expectServed();
  });

  it('refuses offset + length wrapping past 2^64 and ranges past the end', async () => {
    const c = await client();
    await c.handshake('disk', { structured: true });
    await c.write(rawRequest(Cmd.READ, 2n ** 64n - 4096n, 8192, 0, 1n));
    expect(errorOf(await c.readReply())).toBe(NbdErrno.EINVAL);
    await c.write(rawRequest(Cmd.WRITE, 2n ** 64n - 1n, 4096, 0, 2n));
    await c.write(Buffer.alloc(4096, 0xee));
    expect(errorOf(await c.readReply())).toBe(NbdErrno.ENOSPC);
    await c.sendRequest(Cmd.READ, { cookie: 3n, offset: SIZE - 512, length: 1024 });
    expect(errorOf(await c.readReply())).toBe(NbdErrno.EINVAL);
    await c.sendRequest(Cmd.TRIM, { cookie: 4n, offset: SIZE, length: 1 });
    expect(errorOf(await c.readReply())).toBe(NbdErrno.EINVAL);
    await c.sendRequest(Cmd.WRITE_ZEROES, { cookie: 5n, offset: SIZE - 1, length: 2 });
    expect(errorOf(await c.readReply())).toBe(NbdErrno.ENOSPC);
    // A zero-length request is answered, not a disconnect.
    await c.sendRequest(Cmd.READ, { cookie: 6n, offset: 0, length: 0 });
    const empty = await c.readReply();
    expect(empty.cookie).toBe(6n);
    expect(empty.type).toBe(ReplyType.NONE);
    expect(srv.logs.some((l) => l.includes('goes past the end of the export'))).toBe(true);
    await expectServed();
  });

  it('answers unknown commands and flags with EINVAL', async () => {
    const c = await client();
    await c.handshake('disk', { structured: true });
    await c.sendRequest(99, { cookie: 1n });
    expect(errorOf(await c.readReply())).toBe(NbdErrno.EINVAL);
    await c.sendRequest(Cmd.READ, { cookie: 2n, flags: 0x80, length: 512 });
    expect(errorOf(await c.readReply())).toBe(NbdErrno.EINVAL);
    await c.sendRequest(Cmd.READ, { cookie: 3n, flags: CmdFlag.REQ_ONE, length: 512 });
    expect(errorOf(await c.readReply())).toBe(NbdErrno.EINVAL);
    await c.sendRequest(Cmd.FLUSH, { cookie: 4n, offset: 1 });
    expect(errorOf(await c.readReply())).toBe(NbdErrno.EINVAL);
    expect(srv.logs.some((l) => l.includes('unknown command 99'))).toBe(true);
    await expectServed();
  });

  it('answers with simple replies when structured replies were not negotiated', async () => {
    const c = await client();
    await c.handshake('disk');
    await c.sendRequest(Cmd.READ, { cookie: 1n, offset: SIZE, length: 512 });
    const bad = await c.readReply();
    expect(bad.structured).toBe(false);
    expect(bad.errorOrFlags).toBe(NbdErrno.EINVAL);
    await c.sendRequest(Cmd.READ, { cookie: 2n, offset: 0, length: 512 });
    const ok = await c.readReply();
    expect(ok.errorOrFlags).toBe(0);
    expect((await c.read(512)).equals(Buffer.alloc(512))).toBe(true);
    await expectServed();
  });

  it('hangs up on a bad request magic', async () => {
    const c = await client();
    await c.handshake('disk', { structured: true });
    const bad = rawRequest(Cmd.READ, 0n, 512);
    bad.writeUInt32BE(0xdeadbeef, 0);
    await c.write(bad);
    expect(await c.closedWithin()).toBe(true);
    expect(srv.logs.some((l) => l.includes('bad request magic'))).toBe(true);
    await expectServed();
  });

  it('survives a client that leaves in the middle of a WRITE payload', async () => {
    const c = await client();
    await c.handshake('disk', { structured: true });
    await c.write(rawRequest(Cmd.WRITE, 0n, 1024 * 1024));
    await c.write(Buffer.alloc(1000, 1));
    c.destroy();
    await expectServed();
  });
});

describe('limits', () => {
  it('caps connections idle in the handshake and times them out', async () => {
    const idle: RawNbdClient[] = [];
    for (let i = 0; i < 4; i++) idle.push(await client());
    await new Promise((r) => setTimeout(r, 100));
    const refused = await client();
    expect(await refused.closedWithin(1_000)).toBe(true);
    expect(srv.logs.some((l) => l.includes('already negotiating'))).toBe(true);
    for (const c of idle) expect(await c.closedWithin(4_000)).toBe(true);
    expect(srv.logs.some((l) => l.includes('handshake not finished'))).toBe(true);
    await expectServed();
  });
});
