// Partition tables (DOS/MBR, GPT with its protective MBR and backup header) and the DOS boot sectors
// of FAT, NTFS and exFAT, which carry the same 0x55AA mark at byte 510 and must not be taken for an MBR.

import type { ByteView } from './device-bytes.js';
import type { DiskSignature } from './disk-signatures.js';

/** DOS boot sectors: FAT, NTFS and exFAT carry 0x55AA at 510 like an MBR, so they are told apart here. */
export function bootSectorFilesystem(v: ByteView): DiskSignature | undefined {
  if (v.is(3, 'NTFS    ')) {
    const serial = v.slice(0x48, 8);
    const uuid = serial ? Buffer.from(serial).reverse().toString('hex').toUpperCase() : undefined;
    return { type: 'ntfs', kind: 'filesystem', offset: 3, uuid };
  }
  if (v.is(3, 'EXFAT   ')) return { type: 'exfat', kind: 'filesystem', offset: 3 };
  const jump = v.slice(0, 1)?.[0];
  if (!v.is(510, Buffer.from([0x55, 0xaa])) || (jump !== 0xeb && jump !== 0xe9)) return undefined;
  const fat32 = v.is(82, 'FAT32   ');
  if (!fat32 && !v.is(54, 'FAT12   ') && !v.is(54, 'FAT16   ') && !v.is(54, 'FAT     ')) return undefined;
  const serial = v.u32le(fat32 ? 67 : 39);
  const label = v.text(fat32 ? 71 : 43, 11);
  const uuid = serial === undefined ? undefined : fatSerial(serial);
  return {
    type: 'vfat',
    kind: 'filesystem',
    offset: fat32 ? 82 : 54,
    uuid,
    label: label === 'NO NAME' ? undefined : label,
  };
}

function fatSerial(serial: number): string {
  const h = serial.toString(16).toUpperCase().padStart(8, '0');
  return `${h.slice(0, 4)}-${h.slice(4)}`;
}

export function partitionTables(v: ByteView): DiskSignature[] {
  const found: DiskSignature[] = [];
  const gpt = gptAt(v, v.bytes.logicalBlockSize) ?? gptAt(v, 512) ?? gptAt(v, 4096);
  if (gpt) found.push(gpt);
  else {
    const lastLba = v.size - v.bytes.logicalBlockSize;
    if (v.is(lastLba, 'EFI PART')) {
      found.push({
        type: 'gpt',
        kind: 'partition-table',
        offset: lastLba,
        detail: 'only its backup header is left',
      });
    }
  }
  if (!gpt && !bootSectorFilesystem(v)) {
    const dos = dosTable(v);
    if (dos) found.push(dos);
  }
  return found;
}

/** The GPT header sits in LBA 1, so its offset is the block size it was written with. */
function gptAt(v: ByteView, blockSize: number): DiskSignature | undefined {
  const at = blockSize;
  if (!v.is(at, 'EFI PART')) return undefined;
  const entriesLba = v.slice(at + 72, 8)?.readBigUInt64LE(0);
  const count = v.u32le(at + 80) ?? 0;
  const entrySize = v.u32le(at + 84) ?? 0;
  let used = 0;
  let known = entriesLba !== undefined && entrySize >= 128 && count <= 1024;
  for (let i = 0; known && i < count; i++) {
    const entry = v.slice(Number(entriesLba) * blockSize + i * entrySize, 16);
    if (!entry) known = false;
    else if (!entry.every((b) => b === 0)) used++;
  }
  return {
    type: 'gpt',
    kind: 'partition-table',
    offset: at,
    uuid: gptGuid(v.slice(at + 56, 16)),
    detail: known ? partitionCount(used) : undefined,
  };
}

/** GUIDs on disk store their first three fields little-endian. */
function gptGuid(raw: Buffer | undefined): string | undefined {
  if (!raw) return undefined;
  const h = (b: Buffer) => b.toString('hex');
  const le = (start: number, end: number) => h(Buffer.from(raw.subarray(start, end)).reverse());
  return `${le(0, 4)}-${le(4, 6)}-${le(6, 8)}-${h(raw.subarray(8, 10))}-${h(raw.subarray(10, 16))}`;
}

function dosTable(v: ByteView): DiskSignature | undefined {
  if (!v.is(510, Buffer.from([0x55, 0xaa]))) return undefined;
  let used = 0;
  for (let i = 0; i < 4; i++) {
    const entry = v.slice(446 + 16 * i, 16);
    if (!entry) return undefined;
    if (entry[0] !== 0x00 && entry[0] !== 0x80) return undefined; // boot flag must be 0 or 0x80
    if (entry[4] === 0xee) {
      return { type: 'PMBR', kind: 'partition-table', offset: 510, detail: 'a protective MBR of a GPT disk' };
    }
    if (entry[4] !== 0) used++;
  }
  if (used === 0) return undefined; // boot code with an empty table (e.g. a wiped disk): nothing to lose
  const id = v.u32le(440);
  return {
    type: 'dos',
    kind: 'partition-table',
    offset: 510,
    uuid: id ? id.toString(16).padStart(8, '0') : undefined,
    detail: partitionCount(used),
  };
}

function partitionCount(n: number): string {
  return n === 1 ? 'with 1 partition' : `with ${n} partitions`;
}
