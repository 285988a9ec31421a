// On-disk signatures that mean a device holds something: filesystems, partition tables, RAID, LVM,
// LUKS, swap, ZFS, bcache. Found by their superblock magics in the first and last bytes of the
// device, the way blkid does, so the agent needs no external tool; blkid/wipefs add evidence where
// installed (blkid-probe.ts). Offsets are from each format's on-disk layout.

import { ByteView, type DeviceBytes } from './device-bytes.js';
import { bootSectorFilesystem, partitionTables } from './partition-tables.js';

export { type DeviceBytes, readDeviceBytes } from './device-bytes.js';

export type SignatureKind =
  | 'filesystem'
  | 'partition-table'
  | 'raid'
  | 'lvm'
  | 'crypto'
  | 'swap'
  | 'cache'
  | 'zfs'
  | 'other';

export interface DiskSignature {
  /** blkid's TYPE spelling where there is one: 'ext4', 'xfs', 'dos', 'gpt', 'LVM2_member', ... */
  type: string;
  kind: SignatureKind;
  /** Byte offset of the magic, where the source says it. */
  offset?: number;
  uuid?: string;
  label?: string;
  /** Extra words for the message: 'with 2 partitions', 'version 1.2'. */
  detail?: string;
}

/** Every signature found in the bytes, in device order. */
export function findSignatures(bytes: DeviceBytes): DiskSignature[] {
  const view = new ByteView(bytes);
  const found: DiskSignature[] = [];
  for (const probe of PROBES) found.push(...probe(view).map(withoutUndefined));
  return found.sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0));
}

type Probe = (v: ByteView) => DiskSignature[];

function one(sig: DiskSignature | undefined): DiskSignature[] {
  return sig ? [withoutUndefined(sig)] : [];
}

export function withoutUndefined(sig: DiskSignature): DiskSignature {
  return Object.fromEntries(
    Object.entries(sig).filter(([, v]) => v !== undefined),
  ) as unknown as DiskSignature;
}

const ext: Probe = (v) => {
  const sb = 1024;
  if (v.u16le(sb + 56) !== 0xef53) return [];
  const compat = v.u32le(sb + 92) ?? 0;
  const incompat = v.u32le(sb + 96) ?? 0;
  let type = 'ext2';
  if (incompat & 0x0008)
    type = 'jbd'; // an external ext3/4 journal
  else if (incompat & (0x0040 | 0x0080 | 0x0200))
    type = 'ext4'; // extents, 64bit, flex_bg
  else if (compat & 0x0004) type = 'ext3'; // has_journal
  return one({
    type,
    kind: 'filesystem',
    offset: sb + 56,
    uuid: v.uuid(sb + 104),
    label: v.text(sb + 120, 16),
  });
};

const xfs: Probe = (v) =>
  v.is(0, 'XFSB')
    ? one({ type: 'xfs', kind: 'filesystem', offset: 0, uuid: v.uuid(32), label: v.text(108, 12) })
    : [];

const btrfs: Probe = (v) => {
  const sb = 65536;
  if (!v.is(sb + 64, '_BHRfS_M')) return [];
  return one({
    type: 'btrfs',
    kind: 'filesystem',
    offset: sb + 64,
    uuid: v.uuid(sb + 32),
    label: v.text(sb + 299, 256),
  });
};

const lvm: Probe = (v) => {
  for (let sector = 0; sector < 4; sector++) {
    const at = sector * 512;
    if (!v.is(at, 'LABELONE') || !v.is(at + 24, 'LVM2 001')) continue;
    const raw = v.text(at + 32, 32);
    const uuid = raw?.length === 32 ? lvmUuid(raw) : raw;
    return one({ type: 'LVM2_member', kind: 'lvm', offset: at, uuid });
  }
  return [];
};

function lvmUuid(raw: string): string {
  const cuts = [6, 4, 4, 4, 4, 4, 6];
  const parts: string[] = [];
  let i = 0;
  for (const n of cuts) {
    parts.push(raw.slice(i, i + n));
    i += n;
  }
  return parts.join('-');
}

const swap: Probe = (v) => {
  for (const pageSize of [4096, 8192, 16384, 65536]) {
    const at = pageSize - 10;
    if (v.is(at, 'SWAPSPACE2') || v.is(at, 'SWAP-SPACE')) {
      return one({
        type: 'swap',
        kind: 'swap',
        offset: at,
        uuid: v.uuid(1024 + 12),
        label: v.text(1024 + 28, 16),
      });
    }
    for (const magic of ['S1SUSPEND', 'S2SUSPEND', 'ULSUSPEND', 'LINHIB0001']) {
      if (v.is(pageSize - magic.length, magic)) {
        return one({
          type: 'swsuspend',
          kind: 'swap',
          offset: pageSize - magic.length,
          detail: 'a hibernation image',
        });
      }
    }
  }
  return [];
};

const bootSector: Probe = (v) => one(bootSectorFilesystem(v));

const iso9660: Probe = (v) =>
  v.is(32769, 'CD001')
    ? one({ type: 'iso9660', kind: 'filesystem', offset: 32769, label: v.text(32768 + 40, 32) })
    : [];

const luks: Probe = (v) => {
  if (!v.is(0, Buffer.from('LUKS\xba\xbe', 'latin1'))) return [];
  const version = v.slice(6, 2)?.readUInt16BE(0);
  const label = version === 2 ? v.text(24, 48) : undefined;
  return one({
    type: 'crypto_LUKS',
    kind: 'crypto',
    offset: 0,
    uuid: v.text(168, 40),
    label,
    detail: `version ${version}`,
  });
};

const ZFS_LABEL = 256 * 1024;
const ZFS_UBERBLOCK_MAGIC_LE = Buffer.from([0x0c, 0xb1, 0xba, 0x00, 0, 0, 0, 0]);
const ZFS_UBERBLOCK_MAGIC_BE = Buffer.from([0, 0, 0, 0, 0x00, 0xba, 0xb1, 0x0c]);

const zfs: Probe = (v) => {
  // Four vdev labels, two at the start and two at the end of the device (size aligned down to a label);
  // each holds an uberblock array in its second half, one uberblock per KiB at least.
  const aligned = Math.floor(v.size / ZFS_LABEL) * ZFS_LABEL;
  const labels = [0, ZFS_LABEL, aligned - 2 * ZFS_LABEL, aligned - ZFS_LABEL].filter((at) => at >= 0);
  for (const label of labels) {
    for (let at = label + 128 * 1024; at < label + ZFS_LABEL; at += 1024) {
      if (v.is(at, ZFS_UBERBLOCK_MAGIC_LE) || v.is(at, ZFS_UBERBLOCK_MAGIC_BE)) {
        return one({ type: 'zfs_member', kind: 'zfs', offset: at });
      }
    }
  }
  return [];
};

const BCACHE_MAGIC = Buffer.from('c68573f64e1a45ca8265f57f48ba6d81', 'hex');
const bcache: Probe = (v) =>
  v.is(4096 + 24, BCACHE_MAGIC)
    ? one({
        type: 'bcache',
        kind: 'cache',
        offset: 4096 + 24,
        uuid: v.uuid(4096 + 40),
        label: v.text(4096 + 72, 32),
      })
    : [];

const MD_MAGIC = Buffer.from([0xfc, 0x4e, 0x2b, 0xa9]); // 0xa92b4efc little-endian
const mdraid: Probe = (v) => {
  const sectors = Math.floor(v.size / 512);
  const candidates: Array<[number, string]> = [
    [0, '1.1'],
    [4096, '1.2'],
    [((sectors - 16) & ~7) * 512, '1.0'],
    [Math.floor(v.size / 65536) * 65536 - 65536, '0.90'],
  ];
  for (const [at, version] of candidates) {
    if (at < 0 || !v.is(at, MD_MAGIC)) continue;
    const v1 = version !== '0.90';
    return one({
      type: 'linux_raid_member',
      kind: 'raid',
      offset: at,
      uuid: v1 ? v.uuid(at + 16) : undefined,
      label: v1 ? v.text(at + 32, 32) : undefined,
      detail: `md superblock version ${version}`,
    });
  }
  return [];
};

const PROBES: Probe[] = [
  partitionTables,
  bootSector,
  ext,
  xfs,
  btrfs,
  lvm,
  swap,
  iso9660,
  luks,
  zfs,
  bcache,
  mdraid,
];

const PARTITION_TABLE_TYPES = new Set([
  'dos',
  'gpt',
  'PMBR',
  'atari',
  'bsd',
  'sun',
  'sgi',
  'mac',
  'aix',
  'unixware',
  'solaris',
]);

/** The kind of a signature named by blkid or wipefs. */
export function kindOfType(type: string, usage?: string): SignatureKind {
  if (usage === 'filesystem') return 'filesystem';
  if (PARTITION_TABLE_TYPES.has(type)) return 'partition-table';
  if (type.startsWith('LVM')) return 'lvm';
  if (type.endsWith('_raid_member')) return 'raid';
  if (type === 'crypto_LUKS' || type === 'BitLocker' || usage === 'crypto') return 'crypto';
  if (type === 'swap' || type === 'swsuspend') return 'swap';
  if (type === 'zfs_member') return 'zfs';
  if (type === 'bcache') return 'cache';
  if (usage === 'raid') return 'raid';
  if (usage === 'other') return 'other';
  return 'filesystem';
}
