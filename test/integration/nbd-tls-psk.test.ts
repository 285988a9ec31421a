// STARTTLS with TLS-PSK: real clients (nbdinfo nbds://, qemu-io with tls-creds-psk) get in with the
// right key and not with a wrong one; plaintext clients are refused when TLS is required; the
// STARTTLS state-injection and downgrade cases of past CVEs are refused.

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PSK_CIPHERS } from '../../agent/nbd/tls-psk.js';
import { Cmd, Opt, Rep, ReplyType } from '../../agent/nbd/wire.js';
import {
  execFileAsync,
  haveTools,
  type InProcessServer,
  sparseFile,
  startInProcessServer,
  tempDir,
} from '../helpers/nbd-file-server.js';
import { goData, RawNbdClient } from '../helpers/nbd-raw-client.js';

const key = randomBytes(32);
let dir: { dir: string; cleanup: () => Promise<void> };
let srv: InProcessServer;
let pskFile: string;
let wrongFile: string;
const clients: RawNbdClient[] = [];

async function client(): Promise<RawNbdClient> {
  const c = await RawNbdClient.connect(srv.port);
  clients.push(c);
  return c;
}

/** Greets, sends STARTTLS, and completes the TLS handshake as identity 'alice'. */
async function startTls(c: RawNbdClient, psk = key): Promise<RawNbdClient> {
  await c.sendOption(Opt.STARTTLS);
  expect((await c.readOptionReply()).type).toBe(Rep.ACK);
  c.socket.removeAllListeners('data');
  const tls: TLSSocket = tlsConnect({
    socket: c.socket,
    ciphers: PSK_CIPHERS,
    minVersion: 'TLSv1.2',
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk, identity: 'alice' }),
  });
  await new Promise<void>((resolve, reject) => {
    tls.once('secureConnect', () => resolve());
    tls.once('error', reject);
  });
  const secured = new RawNbdClient(tls);
  clients.push(secured);
  return secured;
}

beforeAll(async () => {
  dir = await tempDir();
  const file = await sparseFile(join(dir.dir, 'disk.img'), 16 * 1024 * 1024);
  pskFile = join(dir.dir, 'psk.txt');
  wrongFile = join(dir.dir, 'wrong.txt');
  await writeFile(pskFile, `alice:${key.toString('hex')}\n`);
  await writeFile(wrongFile, `alice:${randomBytes(32).toString('hex')}\n`);
  srv = await startInProcessServer({ file, name: 'disk', pskKeys: new Map([['alice', key]]) });
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await srv?.close();
  await dir?.cleanup();
});

const haveTlsClients = haveTools('nbdinfo', 'qemu-io');
if (!haveTlsClients)
  console.warn(
    'nbd-tls-psk: real-client tests skipped: needs nbdinfo and qemu-io (apt-get install libnbd-bin qemu-utils)',
  );

describe.skipIf(!haveTlsClients)('real clients over TLS-PSK', () => {
  it('nbdinfo nbds:// with the right key reads the export', async () => {
    const uri = `nbds://alice@127.0.0.1:${srv.port}/disk?tls-psk-file=${pskFile}`;
    const { stdout } = await execFileAsync('nbdinfo', ['--json', uri]);
    const info = JSON.parse(stdout);
    expect(info.TLS).toBe(true);
    expect(info.exports[0]['export-size']).toBe(16 * 1024 * 1024);
    expect(srv.logs.some((l) => l.includes("TLS established for PSK identity 'alice'"))).toBe(true);
  });

  it('nbdinfo with a wrong key fails, and a plaintext client is refused', async () => {
    const wrong = `nbds://alice@127.0.0.1:${srv.port}/disk?tls-psk-file=${wrongFile}`;
    await expect(execFileAsync('nbdinfo', [wrong])).rejects.toThrow();
    await expect(execFileAsync('nbdinfo', [`nbd://127.0.0.1:${srv.port}/disk`])).rejects.toThrow();
    expect(srv.logs.some((l) => l.includes('TLS is required'))).toBe(true);
  });

  it('qemu-io with tls-creds-psk writes and reads back a pattern', async () => {
    const creds = join(dir.dir, 'qemu-psk');
    await mkdir(creds, { recursive: true });
    await writeFile(join(creds, 'keys.psk'), `alice:${key.toString('hex')}\n`);
    const { stdout } = await execFileAsync('qemu-io', [
      '--object',
      `tls-creds-psk,id=tls0,endpoint=client,dir=${creds},username=alice`,
      '-c',
      'write -P 0x5a 1M 64k',
      '-c',
      'read -P 0x5a 1M 64k',
      '--image-opts',
      `driver=nbd,host=127.0.0.1,port=${srv.port},export=disk,tls-creds=tls0`,
    ]);
    expect(stdout).toMatch(/read 65536\/65536/);
    expect(stdout).not.toMatch(/verification failed/i);
  });
});

describe('STARTTLS rules', () => {
  it('answers options before STARTTLS with ERR_TLS_REQD, and hangs up on EXPORT_NAME', async () => {
    const c = await client();
    await c.greet();
    await c.sendOption(Opt.INFO, goData('disk'));
    expect((await c.readOptionReply()).type).toBe(Rep.ERR_TLS_REQD);
    await c.sendOption(Opt.LIST);
    expect((await c.readOptionReply()).type).toBe(Rep.ERR_TLS_REQD);
    await c.sendOption(Opt.EXPORT_NAME, Buffer.from('disk'));
    expect(await c.closedWithin()).toBe(true);
  });

  it('refuses plaintext sent right behind STARTTLS (state injection)', async () => {
    const c = await client();
    await c.greet();
    const injected = Buffer.concat([
      Buffer.from('IHAVEOPT'),
      Buffer.from([0, 0, 0, Opt.STARTTLS, 0, 0, 0, 0]),
      Buffer.from('IHAVEOPT'),
      Buffer.from([0, 0, 0, Opt.STRUCTURED_REPLY, 0, 0, 0, 0]),
    ]);
    await c.write(injected);
    expect((await c.readOptionReply()).type).toBe(Rep.ACK);
    expect(await c.closedWithin()).toBe(true);
    expect(srv.logs.some((l) => l.includes('plaintext data sent after STARTTLS'))).toBe(true);
  });

  it('forgets what was negotiated before STARTTLS and refuses a second STARTTLS', async () => {
    const plain = await client();
    await plain.greet();
    await plain.sendOption(Opt.STRUCTURED_REPLY);
    // Before TLS this is refused (FORCEDTLS), so nothing is negotiated in plaintext anyway.
    expect((await plain.readOptionReply()).type).toBe(Rep.ERR_TLS_REQD);
    const c = await startTls(plain);
    await c.sendOption(Opt.STARTTLS);
    expect((await c.readOptionReply()).type).toBe(Rep.ERR_INVALID);
    await c.sendOption(Opt.STRUCTURED_REPLY);
    expect((await c.readOptionReply()).type).toBe(Rep.ACK);
    await c.sendOption(Opt.GO, goData('disk'));
    expect((await c.readOptionReplies()).at(-1)!.type).toBe(Rep.ACK);
    await c.sendRequest(Cmd.READ, { cookie: 3n, offset: 0, length: 4096 });
    const reply = await c.readReply();
    expect(reply.type).toBe(ReplyType.OFFSET_DATA);
    expect(srv.server.connections().some((x) => x.tlsIdentity === 'alice' && x.exportName === 'disk')).toBe(
      true,
    );
    await c.sendRequest(Cmd.DISC);
    expect(await c.closedWithin()).toBe(true);
  });

  it('ends the session when the client has the wrong key', async () => {
    const plain = await client();
    await plain.greet();
    await expect(startTls(plain, randomBytes(32))).rejects.toThrow();
    expect(srv.logs.some((l) => l.includes('TLS handshake failed'))).toBe(true);
  });
});
