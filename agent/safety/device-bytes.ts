// The bytes of a block device that signature probes look at: its head and its tail, read once, and
// a view that reads absolute device offsets from whichever of the two holds them.

import { open } from 'node:fs/promises';

/** The bytes a scan looks at: the head and the tail of the device. */
export interface DeviceBytes {
  sizeBytes: number;
  logicalBlockSize: number;
  head: Buffer;
  tail: Buffer;
  /** Device offset of tail[0]. */
  tailOffset: number;
}

const HEAD_BYTES = 512 * 1024; // ZFS labels 0 and 1 (256 KiB each) are the farthest magics from the start
const TAIL_BYTES = 1024 * 1024; // ZFS labels 2 and 3, md 0.90 and 1.0, the backup GPT header

export async function readDeviceBytes(
  path: string,
  sizeBytes: number,
  logicalBlockSize: number,
): Promise<DeviceBytes> {
  const handle = await open(path, 'r');
  try {
    const headLength = Math.min(HEAD_BYTES, sizeBytes);
    const tailOffset = Math.max(0, sizeBytes - TAIL_BYTES);
    const head = Buffer.alloc(headLength);
    const tail = Buffer.alloc(sizeBytes - tailOffset);
    await readFully(handle, head, 0);
    await readFully(handle, tail, tailOffset);
    return { sizeBytes, logicalBlockSize, head, tail, tailOffset };
  } finally {
    await handle.close();
  }
}

async function readFully(
  handle: Awaited<ReturnType<typeof open>>,
  buf: Buffer,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await handle.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
}

/** Reads absolute device offsets from whichever buffer holds them. */
export class ByteView {
  constructor(readonly bytes: DeviceBytes) {}
  get size(): number {
    return this.bytes.sizeBytes;
  }
  slice(offset: number, length: number): Buffer | undefined {
    const { head, tail, tailOffset } = this.bytes;
    if (offset < 0 || length < 0) return undefined;
    if (offset + length <= head.length) return head.subarray(offset, offset + length);
    if (offset >= tailOffset && offset + length <= tailOffset + tail.length) {
      return tail.subarray(offset - tailOffset, offset - tailOffset + length);
    }
    return undefined;
  }
  is(offset: number, magic: Buffer | string): boolean {
    const want = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : magic;
    const got = this.slice(offset, want.length);
    return got?.equals(want) === true;
  }
  u16le(offset: number): number | undefined {
    return this.slice(offset, 2)?.readUInt16LE(0);
  }
  u32le(offset: number): number | undefined {
    return this.slice(offset, 4)?.readUInt32LE(0);
  }
  text(offset: number, length: number): string | undefined {
    const raw = this.slice(offset, length);
    if (!raw) return undefined;
    const end = raw.indexOf(0);
    const s = raw
      .subarray(0, end < 0 ? raw.length : end)
      .toString('utf8')
      .trim();
    return s === '' ? undefined : s;
  }
  uuid(offset: number): string | undefined {
    const raw = this.slice(offset, 16);
    if (!raw || raw.every((b) => b === 0)) return undefined;
    const h = raw.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}
