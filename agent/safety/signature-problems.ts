// Turns the signatures found on a device (by the magic scan, blkid and wipefs) into one problem
// each, in words an admin reads before typing --force: what is there, its UUID and label.

import type { DeviceProblem } from './device-problem.js';
import type { DiskSignature } from './disk-signatures.js';

/** One signature per thing on the disk, however many tools reported it. */
export function mergeSignatures(signatures: DiskSignature[]): DiskSignature[] {
  const hasGpt = signatures.some((s) => s.type === 'gpt');
  const groups = new Map<string, DiskSignature[]>();
  for (const sig of signatures) {
    if (sig.type === 'PMBR' && hasGpt) continue; // the protective MBR is part of the GPT
    const key = /^(ext[234]|jbd)$/.test(sig.type) ? 'ext' : sig.type;
    groups.set(key, [...(groups.get(key) ?? []), sig]);
  }
  return [...groups.values()].map((group) => {
    // The scan comes first and util-linux after: its type name wins (it knows ext3 from ext4 best).
    const merged: DiskSignature = { ...group[0], type: group[group.length - 1].type };
    for (const sig of group) {
      merged.offset ??= sig.offset;
      merged.uuid ??= sig.uuid;
      merged.label ??= sig.label;
      merged.detail ??= sig.detail;
    }
    return merged;
  });
}

export function signatureProblem(dev: string, sig: DiskSignature, kernelPartitions: string[]): DeviceProblem {
  const ids = identifiers(sig);
  switch (sig.kind) {
    case 'filesystem':
      return {
        code: 'filesystem',
        message: `${dev} carries ${withArticle(sig.type)} filesystem${ids}; pool add --force would destroy it`,
        loss: `the ${sig.type} filesystem on ${dev}${ids} and every file in it`,
      };
    case 'partition-table': {
      const known =
        kernelPartitions.length > 0
          ? `, partitions ${kernelPartitions.map((p) => `/dev/${p}`).join(', ')}`
          : '';
      const what = `${withArticle(tableName(sig.type))} partition table${sig.detail ? ` ${sig.detail}` : ''}`;
      return {
        code: 'partition-table',
        message: `${dev} has ${what}${ids}${known}; pool add --force would destroy the table and its partitions`,
        loss: `the ${tableName(sig.type)} partition table on ${dev} and everything in its partitions`,
      };
    }
    default: {
      const what = describeOther(sig);
      return {
        code: 'signature',
        message: `${dev} carries ${what}${ids}; pool add --force would destroy it`,
        loss: `${what} on ${dev}${ids}`,
      };
    }
  }
}

function describeOther(sig: DiskSignature): string {
  switch (sig.kind) {
    case 'lvm':
      return 'an LVM physical volume label (its volume group would lose this disk)';
    case 'raid':
      return `an md RAID member superblock${sig.detail ? ` (${sig.detail})` : ''}`;
    case 'crypto':
      return `${sig.type === 'crypto_LUKS' ? 'a LUKS' : `${withArticle(sig.type)}`} encrypted volume`;
    case 'swap':
      return sig.type === 'swsuspend' ? 'a hibernation image' : 'a swap area';
    case 'zfs':
      return 'a ZFS pool member label';
    case 'cache':
      return 'a bcache superblock';
    default:
      return `${withArticle(sig.type)} signature`;
  }
}

function identifiers(sig: DiskSignature): string {
  const parts: string[] = [];
  if (sig.uuid) parts.push(`UUID ${sig.uuid}`);
  if (sig.label) parts.push(`label ${JSON.stringify(sig.label)}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function tableName(type: string): string {
  if (type === 'dos') return 'DOS (MBR)';
  if (type === 'gpt') return 'GPT';
  if (type === 'PMBR') return 'protective MBR';
  return type;
}

function withArticle(word: string): string {
  return /^[aeiouAEIOU]|^(LVM|MBR|NTFS|XFS|xfs|ntfs)/.test(word) ? `an ${word}` : `a ${word}`;
}
