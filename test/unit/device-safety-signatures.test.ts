// The magic scan and the /proc and util-linux parsers. Where a real tool writes the format here
// (mkfs.ext2/3/4, mkswap, sfdisk, mkfs.minix) the test runs it on a sparse file; formats whose tools
// are not installed are laid out by hand at their documented offsets.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBlkidExport, parseWipefsJson } from '../../agent/safety/blkid-probe.js';
import { describeLoss } from '../../agent/safety/device-inspector.js';
import { type DiskSignature, findSignatures, readDeviceBytes } from '../../agent/safety/disk-signatures.js';
import { mergeSignatures, signatureProblem } from '../../agent/safety/signature-problems.js';
import { parseMdstat, parseMountinfo, parseSwaps, unescapeOctal } from '../../agent/safety/system-usage.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'ferry-sig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function imageFile(sizeBytes = 64 * MiB): string {
  const file = join(dir, `img-${counter++}.img`);
  writeFileSync(file, '');
  execFileSync('truncate', ['-s', String(sizeBytes), file]);
  return file;
}

async function scanFile(file: string, sizeBytes = 64 * MiB): Promise<DiskSignature[]> {
  return findSignatures(await readDeviceBytes(file, sizeBytes, 512));
}

function scanBuffer(image: Buffer): DiskSignature[] {
  return findSignatures({
    sizeBytes: image.length,
    logicalBlockSize: 512,
    head: image,
    tail: image,
    tailOffset: 0,
  });
}

function blkidUuid(file: string): string {
  return execFileSync('blkid', ['-p', '-o', 'value', '-s', 'UUID', file], { encoding: 'utf8' }).trim();
}

describe('magic scan on images made by real tools', () => {
  it('finds nothing on a zeroed image', async () => {
    expect(await scanFile(imageFile())).toEqual([]);
  });

  it.each(['ext2', 'ext3', 'ext4'])('reads %s with its UUID and label', async (fs) => {
    const file = imageFile();
    execFileSync(`mkfs.${fs}`, ['-q', '-F', '-L', 'shopdata', file]);
    const sigs = await scanFile(file);
    expect(sigs).toEqual([
      { type: fs, kind: 'filesystem', offset: 1080, uuid: blkidUuid(file), label: 'shopdata' },
    ]);
  });

  it('reads a swap area', async () => {
    const file = imageFile();
    execFileSync('mkswap', ['-L', 'sw', file], { stdio: 'ignore' });
    const [sig] = await scanFile(file);
    expect(sig).toEqual({ type: 'swap', kind: 'swap', offset: 4086, uuid: blkidUuid(file), label: 'sw' });
  });

  it('reads a DOS partition table written by sfdisk', async () => {
    const file = imageFile();
    execFileSync('sfdisk', ['-q', file], { input: 'label: dos\n,16M,L\n,,L\n' });
    const sigs = await scanFile(file);
    expect(sigs).toHaveLength(1);
    expect(sigs[0]).toMatchObject({
      type: 'dos',
      kind: 'partition-table',
      offset: 510,
      detail: 'with 2 partitions',
    });
    const ptuuid = execFileSync('blkid', ['-p', '-o', 'value', '-s', 'PTUUID', file], {
      encoding: 'utf8',
    }).trim();
    expect(sigs[0].uuid).toBe(ptuuid);
  });

  it('reads a GPT written by sfdisk, and not its protective MBR as a second table', async () => {
    const file = imageFile();
    execFileSync('sfdisk', ['-q', file], { input: 'label: gpt\n,8M\n,8M\n,8M\n' });
    const sigs = await scanFile(file);
    expect(sigs).toHaveLength(1);
    expect(sigs[0]).toMatchObject({
      type: 'gpt',
      kind: 'partition-table',
      offset: 512,
      detail: 'with 3 partitions',
    });
    const ptuuid = execFileSync('blkid', ['-p', '-o', 'value', '-s', 'PTUUID', file], {
      encoding: 'utf8',
    }).trim();
    expect(sigs[0].uuid).toBe(ptuuid);
  });

  it('finds a GPT by its backup header when the primary one is gone', async () => {
    const file = imageFile();
    execFileSync('sfdisk', ['-q', file], { input: 'label: gpt\n,8M\n' });
    execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=512', 'count=34', 'conv=notrunc'], {
      stdio: 'ignore',
    });
    const sigs = await scanFile(file);
    expect(sigs).toEqual([
      {
        type: 'gpt',
        kind: 'partition-table',
        offset: 64 * MiB - 512,
        detail: 'only its backup header is left',
      },
    ]);
  });

  it('ignores an MBR whose table is empty (boot code only)', () => {
    const image = Buffer.alloc(MiB);
    image.fill(0x90, 0, 440);
    image[510] = 0x55;
    image[511] = 0xaa;
    expect(scanBuffer(image)).toEqual([]);
  });
});

describe('magic scan on hand-laid superblocks', () => {
  const image = (write: (b: Buffer) => void, size = MiB): Buffer => {
    const b = Buffer.alloc(size);
    write(b);
    return b;
  };
  const uuidBytes = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const uuidText = '00112233-4455-6677-8899-aabbccddeeff';

  it('xfs', () => {
    const sigs = scanBuffer(
      image((b) => {
        b.write('XFSB', 0, 'latin1');
        uuidBytes.copy(b, 32);
        b.write('xlabel', 108);
      }),
    );
    expect(sigs).toEqual([{ type: 'xfs', kind: 'filesystem', offset: 0, uuid: uuidText, label: 'xlabel' }]);
  });

  it('btrfs', () => {
    const sigs = scanBuffer(
      image((b) => {
        b.write('_BHRfS_M', 65600, 'latin1');
        uuidBytes.copy(b, 65536 + 32);
      }),
    );
    expect(sigs).toEqual([{ type: 'btrfs', kind: 'filesystem', offset: 65600, uuid: uuidText }]);
  });

  it('an LVM2 label in the second sector', () => {
    const sigs = scanBuffer(
      image((b) => {
        b.write('LABELONE', 512, 'latin1');
        b.write('LVM2 001', 512 + 24, 'latin1');
        b.write('abcdefghijklmnopqrstuvwxyz012345', 512 + 32, 'latin1');
      }),
    );
    expect(sigs).toEqual([
      { type: 'LVM2_member', kind: 'lvm', offset: 512, uuid: 'abcdef-ghij-klmn-opqr-stuv-wxyz-012345' },
    ]);
  });

  it('LUKS', () => {
    const sigs = scanBuffer(
      image((b) => {
        b.write('LUKS\xba\xbe', 0, 'latin1');
        b.writeUInt16BE(2, 6);
        b.write(uuidText, 168);
      }),
    );
    expect(sigs).toEqual([
      { type: 'crypto_LUKS', kind: 'crypto', offset: 0, uuid: uuidText, detail: 'version 2' },
    ]);
  });

  it('iso9660', () => {
    const sigs = scanBuffer(image((b) => b.write('CD001', 32769, 'latin1')));
    expect(sigs).toEqual([{ type: 'iso9660', kind: 'filesystem', offset: 32769 }]);
  });

  it('a ZFS uberblock in the first label', () => {
    const sigs = scanBuffer(image((b) => b.writeBigUInt64LE(0x00bab10cn, 128 * 1024 + 4096)));
    expect(sigs).toEqual([{ type: 'zfs_member', kind: 'zfs', offset: 128 * 1024 + 4096 }]);
  });

  it('a ZFS uberblock in a label at the end only', () => {
    const size = 4 * MiB;
    const at = size - 256 * 1024 + 128 * 1024;
    const sigs = scanBuffer(image((b) => b.writeBigUInt64BE(0x00bab10cn, at), size));
    expect(sigs).toEqual([{ type: 'zfs_member', kind: 'zfs', offset: at }]);
  });

  it('bcache', () => {
    const sigs = scanBuffer(
      image((b) => Buffer.from('c68573f64e1a45ca8265f57f48ba6d81', 'hex').copy(b, 4096 + 24)),
    );
    expect(sigs).toMatchObject([{ type: 'bcache', kind: 'cache', offset: 4120 }]);
  });

  it.each([
    ['1.1', 0],
    ['1.2', 4096],
    ['1.0', MiB - 8192],
    ['0.90', MiB - 65536],
  ])('md superblock version %s', (version, at) => {
    const sigs = scanBuffer(image((b) => b.writeUInt32LE(0xa92b4efc, at)));
    expect(sigs).toMatchObject([
      { type: 'linux_raid_member', kind: 'raid', offset: at, detail: `md superblock version ${version}` },
    ]);
  });

  it('FAT32 is a filesystem, not an MBR, despite 0x55AA', () => {
    const sigs = scanBuffer(
      image((b) => {
        b[0] = 0xeb;
        b.write('FAT32   ', 82, 'latin1');
        b.writeUInt32LE(0x1234abcd, 67);
        b.write('SHOPDISK   ', 71, 'latin1');
        b[510] = 0x55;
        b[511] = 0xaa;
        b[446 + 4] = 0x83; // boot code bytes that look like a table entry
      }),
    );
    expect(sigs).toEqual([
      { type: 'vfat', kind: 'filesystem', offset: 82, uuid: '1234-ABCD', label: 'SHOPDISK' },
    ]);
  });

  it('NTFS', () => {
    const sigs = scanBuffer(image((b) => b.write('NTFS    ', 3, 'latin1')));
    expect(sigs).toMatchObject([{ type: 'ntfs', kind: 'filesystem', offset: 3 }]);
  });
});

describe('util-linux output', () => {
  it('parses blkid -p -o export', () => {
    const text =
      'DEVNAME=/dev/loop0\nUUID=bf65\nVERSION=1\nTYPE=swap\nUSAGE=other\nPTUUID=c53f13d0\nPTTYPE=dos\n';
    expect(parseBlkidExport(text)).toEqual([
      { type: 'swap', kind: 'swap', uuid: 'bf65' },
      { type: 'dos', kind: 'partition-table', uuid: 'c53f13d0' },
    ]);
    expect(parseBlkidExport('')).toEqual([]);
    expect(parseBlkidExport('TYPE=minix\nUSAGE=filesystem\n')).toEqual([
      { type: 'minix', kind: 'filesystem' },
    ]);
  });

  it('parses wipefs --json, and shrugs at garbage', () => {
    const text = JSON.stringify({
      signatures: [
        { device: 'loop0', offset: '0x438', type: 'ext4', uuid: 'u1', label: 'l1' },
        { device: 'loop0', offset: '0x1fe', type: 'dos', uuid: null, label: null },
      ],
    });
    expect(parseWipefsJson(text)).toEqual([
      { type: 'ext4', kind: 'filesystem', offset: 0x438, uuid: 'u1', label: 'l1' },
      { type: 'dos', kind: 'partition-table', offset: 0x1fe },
    ]);
    expect(parseWipefsJson('not json')).toEqual([]);
    expect(parseWipefsJson('{"signatures":[null,{"type":3}]}')).toEqual([]);
  });

  it('merges what the scan, blkid and wipefs say about the same thing', () => {
    const merged = mergeSignatures([
      { type: 'ext3', kind: 'filesystem', offset: 1080, uuid: 'u1' },
      { type: 'gpt', kind: 'partition-table', offset: 512 },
      { type: 'ext4', kind: 'filesystem', label: 'data' },
      { type: 'PMBR', kind: 'partition-table', offset: 510 },
      { type: 'gpt', kind: 'partition-table', uuid: 'g1' },
    ]);
    expect(merged).toEqual([
      { type: 'ext4', kind: 'filesystem', offset: 1080, uuid: 'u1', label: 'data' },
      { type: 'gpt', kind: 'partition-table', offset: 512, uuid: 'g1' },
    ]);
  });
});

describe('problem wording', () => {
  it('names the device, the thing and its identity', () => {
    const p = signatureProblem(
      '/dev/loop3',
      { type: 'ext4', kind: 'filesystem', uuid: 'u1', label: 'x' },
      [],
    );
    expect(p).toEqual({
      code: 'filesystem',
      message:
        '/dev/loop3 carries an ext4 filesystem (UUID u1, label "x"); pool add --force would destroy it',
      loss: 'the ext4 filesystem on /dev/loop3 (UUID u1, label "x") and every file in it',
    });
    const t = signatureProblem(
      '/dev/sdb',
      { type: 'dos', kind: 'partition-table', detail: 'with 1 partition' },
      ['sdb1'],
    );
    expect(t.message).toBe(
      '/dev/sdb has a DOS (MBR) partition table with 1 partition, partitions /dev/sdb1; pool add --force would destroy the table and its partitions',
    );
    const l = signatureProblem('/dev/sdc', { type: 'LVM2_member', kind: 'lvm' }, []);
    expect(l).toMatchObject({ code: 'signature' });
    expect(l.message).toContain('LVM physical volume');
  });

  it('describeLoss lists what --force would destroy', () => {
    expect(describeLoss([])).toBe('');
    expect(
      describeLoss([
        { message: 'm1', loss: 'the ext4 filesystem on /dev/loop3 and every file in it' },
        { message: 'm2', loss: 'the ext4 filesystem mounted at /mnt' },
      ]),
    ).toBe(
      'pool add --force would destroy:\n  - the ext4 filesystem on /dev/loop3 and every file in it\n  - the ext4 filesystem mounted at /mnt',
    );
  });
});

describe('/proc parsers', () => {
  it('parses mountinfo, with escapes, optional fields and read-only mounts', () => {
    const text = [
      '27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard',
      '42 27 7:3 / /mnt/my\\040data ro,relatime - ext4 /dev/loop3 ro',
      '50 27 0:45 / /srv/b rw,relatime - btrfs /dev/sdb2 rw',
      'garbage line',
    ].join('\n');
    expect(parseMountinfo(text)).toEqual([
      { devno: '254:0', mountPoint: '/', fsType: 'ext4', source: '/dev/vda', readOnly: false },
      { devno: '7:3', mountPoint: '/mnt/my data', fsType: 'ext4', source: '/dev/loop3', readOnly: true },
      { devno: '0:45', mountPoint: '/srv/b', fsType: 'btrfs', source: '/dev/sdb2', readOnly: false },
    ]);
  });

  it('parses /proc/swaps', () => {
    const text =
      'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sdb2                               partition\t8388604\t\t0\t\t-2\n/swap\\040file file 1024 0 -3\n';
    expect(parseSwaps(text)).toEqual([
      { path: '/dev/sdb2', type: 'partition' },
      { path: '/swap file', type: 'file' },
    ]);
    expect(parseSwaps('')).toEqual([]);
  });

  it('parses /proc/mdstat', () => {
    const text = [
      'Personalities : [raid1] [raid6]',
      'md127 : active raid1 sdb1[1] sda1[0](F)',
      '      1048512 blocks super 1.2 [2/2] [UU]',
      'md0 : inactive loop3[0](S)',
      'unused devices: <none>',
    ].join('\n');
    expect(parseMdstat(text)).toEqual([
      { name: 'md127', members: ['sdb1', 'sda1'] },
      { name: 'md0', members: ['loop3'] },
    ]);
  });

  it('decodes the kernel octal escapes', () => {
    expect(unescapeOctal('/a\\040b\\011c\\134d')).toBe('/a b\tc\\d');
  });
});
