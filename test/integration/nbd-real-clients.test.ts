// `ferry-agent nbd-file` against the real NBD clients of this machine: nbdinfo, qemu-io, qemu-img,
// nbdcopy, fio. Data integrity is checked on the bytes (qemu-io -P patterns, cmp, fio --verify).

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cmd, ReplyType } from '../../agent/nbd/wire.js';
import {
  type AgentProcess,
  execFileAsync,
  haveTools,
  nbdFileAgentCommand,
  sparseFile,
  spawnNbdFileAgent,
  tempDir,
} from '../helpers/nbd-file-server.js';
import { RawNbdClient } from '../helpers/nbd-raw-client.js';

const MiB = 1024 * 1024;
const tools = ['nbdinfo', 'qemu-io', 'qemu-img', 'nbdcopy', 'fio'];
const missing = !haveTools(...tools);
if (missing) console.warn(`skipping nbd-real-clients: needs ${tools.join(', ')}`);

describe.skipIf(missing)('nbd-file with real clients', () => {
  let dir: { dir: string; cleanup: () => Promise<void> };
  let agent: AgentProcess;
  let disk: string;
  const uri = () => `nbd://127.0.0.1:${agent.port}/disk`;

  beforeAll(async () => {
    dir = await tempDir();
    disk = await sparseFile(join(dir.dir, 'disk.img'), 64 * MiB);
    agent = await spawnNbdFileAgent(disk, ['--name', 'disk']);
  });

  afterAll(async () => {
    const code = await agent?.stop();
    expect(code).toBe(0);
    await dir?.cleanup();
  });

  it('nbdinfo --json shows the export and what it can do', async () => {
    const { stdout } = await execFileAsync('nbdinfo', ['--json', uri()]);
    const info = JSON.parse(stdout);
    expect(info.protocol).toBe('newstyle-fixed');
    const exp = info.exports[0];
    expect(exp['export-name']).toBe('disk');
    expect(exp['export-size']).toBe(64 * MiB);
    expect(exp['can_multi_conn']).toBe(true);
    expect(exp['can_flush']).toBe(true);
    expect(exp['can_fua']).toBe(true);
    expect(exp['can_zero']).toBe(true);
    expect(exp['block_size_minimum']).toBe(1);
    expect(exp['block_size_preferred']).toBe(4096);
    expect(exp['block_size_maximum']).toBe(32 * MiB);
    expect(exp.contexts).toContain('base:allocation');
  });

  it('nbdinfo --list lists the export', async () => {
    const { stdout } = await execFileAsync('nbdinfo', ['--list', '--json', `nbd://127.0.0.1:${agent.port}`]);
    const names = JSON.parse(stdout).exports.map((e: { 'export-name': string }) => e['export-name']);
    expect(names).toEqual(['disk']);
  });

  it('qemu-io writes patterns at several offsets and reads them back', async () => {
    const cmds = [
      'write -P 0x11 0 4k',
      'write -P 0x22 1M 64k',
      'write -P 0x33 10M 1M',
      'write -P 0x44 63M 1M',
      'write -P 0x55 12345 777',
      'write -z 10M 4k',
      'flush',
      'read -P 0x11 0 4k',
      'read -P 0x22 1M 64k',
      'read -P 0 10M 4k',
      'read -P 0x33 10489856 1044480',
      'read -P 0x44 63M 1M',
      'read -P 0x55 12345 777',
    ];
    const { stdout } = await execFileAsync('qemu-io', [
      '-f',
      'raw',
      ...cmds.flatMap((c) => ['-c', c]),
      uri(),
    ]);
    expect(stdout).not.toMatch(/Pattern verification failed|error|failed/i);
    // The bytes really are in the file.
    const file = await readFile(disk);
    expect(file.subarray(1 * MiB, 1 * MiB + 65536).every((b) => b === 0x22)).toBe(true);
    expect(file.subarray(63 * MiB).every((b) => b === 0x44)).toBe(true);
  });

  it('flushed writes survive kill -9 of the agent', async () => {
    const file = await sparseFile(join(dir.dir, 'restart.img'), 16 * MiB);
    const first = await spawnNbdFileAgent(file, ['--name', 'disk']);
    const at = `nbd://127.0.0.1:${first.port}/disk`;
    await execFileAsync('qemu-io', ['-f', 'raw', '-c', 'write -P 0x6b 3M 128k', '-c', 'flush', at]);
    first.proc.kill('SIGKILL');
    await first.stop();
    const second = await spawnNbdFileAgent(file, ['--name', 'disk']);
    try {
      const again = `nbd://127.0.0.1:${second.port}/disk`;
      const { stdout } = await execFileAsync('qemu-io', ['-f', 'raw', '-c', 'read -P 0x6b 3M 128k', again]);
      expect(stdout).toMatch(/read 131072\/131072/);
    } finally {
      await second.stop();
    }
  });

  it('nbdinfo --map tells holes from data', async () => {
    const { stdout } = await execFileAsync('nbdinfo', ['--map', '--json', uri()]);
    const map: Array<{ offset: number; length: number; type: number }> = JSON.parse(stdout);
    const at = (offset: number) => map.find((e) => e.offset <= offset && offset < e.offset + e.length)!;
    expect(at(1 * MiB).type).toBe(0); // data
    expect(at(30 * MiB).type).toBe(3); // hole + zero
    expect(at(63 * MiB).type).toBe(0);
    expect(map.reduce((sum, e) => sum + e.length, 0)).toBe(64 * MiB);
  });

  it('nbdcopy copies in and out; qemu-img compare finds them identical', async () => {
    const src = join(dir.dir, 'src.img');
    await execFileAsync('sh', ['-c', `head -c ${64 * MiB} /dev/urandom > ${src}`]);
    await execFileAsync('nbdcopy', [src, uri()]);
    const back = join(dir.dir, 'back.img');
    await execFileAsync('nbdcopy', [uri(), back]);
    await execFileAsync('cmp', [src, back]);
    const { stdout } = await execFileAsync('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', src, uri()]);
    expect(stdout).toMatch(/identical/);
  });

  it('fio random writes pass --verify=crc32c', async () => {
    const { stdout } = await execFileAsync(
      'fio',
      [
        '--name=verify',
        '--ioengine=nbd',
        `--uri=${uri()}`,
        '--rw=randwrite',
        '--bs=4k',
        '--iodepth=16',
        '--size=64m',
        '--verify=crc32c',
        '--do_verify=1',
        '--verify_fatal=1',
        '--output-format=json',
      ],
      { maxBuffer: 16 * MiB },
    );
    const job = JSON.parse(stdout.slice(stdout.indexOf('{'))).jobs[0];
    expect(job.error).toBe(0);
    expect(job.write.io_bytes).toBe(64 * MiB);
    expect(job.read.io_bytes).toBe(64 * MiB);
  });

  it('serves four connections to one export at once: fio jobs verify their own regions', async () => {
    const { stdout } = await execFileAsync(
      'fio',
      [
        '--name=multi',
        '--ioengine=nbd',
        `--uri=${uri()}`,
        '--rw=randwrite',
        '--bs=16k',
        '--iodepth=8',
        '--numjobs=4',
        '--size=16m',
        '--offset_increment=16m',
        '--verify=crc32c',
        '--verify_fatal=1',
        '--group_reporting',
        '--output-format=json',
      ],
      { maxBuffer: 16 * MiB },
    );
    const job = JSON.parse(stdout.slice(stdout.indexOf('{'))).jobs[0];
    expect(job.error).toBe(0);
    expect(job.write.io_bytes).toBe(64 * MiB);
  });

  it('libnbd runs the agent itself with socket activation: nbdinfo -- [ ferry-agent nbd-file ]', async () => {
    const cmd = await nbdFileAgentCommand();
    const { stdout } = await execFileAsync('nbdinfo', [
      '--json',
      '--',
      '[',
      ...cmd,
      disk,
      '--read-only',
      ']',
    ]);
    const exp = JSON.parse(stdout).exports[0];
    expect(exp['export-size']).toBe(64 * MiB);
    expect(exp.is_read_only).toBe(true);
    const listed = await execFileAsync('nbdinfo', [
      '--list',
      '--json',
      '--',
      '[',
      ...cmd,
      disk,
      '--name',
      'disk',
      ']',
    ]);
    expect(JSON.parse(listed.stdout).exports[0]['export-name']).toBe('disk');
    const copy = join(dir.dir, 'activated-copy.img');
    await execFileAsync('nbdcopy', ['--', '[', ...cmd, disk, '--read-only', ']', copy]);
    await execFileAsync('cmp', [disk, copy]);
  });

  it('serves one client on stdin/stdout', async () => {
    const [node, ...args] = await nbdFileAgentCommand();
    const child = spawn(node, [...args, disk, '--name', 'disk'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const c = new RawNbdClient(child.stdout!, child.stdin!);
      const { size } = await c.handshake('disk', { structured: true });
      expect(size).toBe(64 * MiB);
      await c.sendRequest(Cmd.READ, { cookie: 9n, offset: 63 * MiB, length: 4096 });
      const reply = await c.readReply();
      expect(reply.type).toBe(ReplyType.OFFSET_DATA);
      expect(reply.payload.subarray(8).length).toBe(4096);
      await c.sendRequest(Cmd.DISC);
      expect(await exited).toBe(0);
    } finally {
      child.kill();
    }
  });
});
