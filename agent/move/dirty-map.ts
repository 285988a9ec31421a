// A bitmap of regions of a volume, one bit per granule (64 KiB by default): the regions a move's target
// may not hold correctly (dirty), or has written but not yet flushed, or has writes in flight to.
// Serialized as byte runs, so the move journal stays small while few regions are marked.

import { FerryError } from '../../shared/errors.js';

export const DEFAULT_DIRTY_GRANULE = 64 * 1024;
/** Beyond this many granules the granule grows, so a huge volume's map stays a few MiB at most. */
const MAX_GRANULES = 1 << 24;

export interface ByteRange {
  offset: number;
  length: number;
}

export interface SerializedDirtyMap {
  granule: number;
  size: number;
  /** [offset, length] in bytes, ascending, not overlapping. */
  runs: Array<[number, number]>;
}

export class DirtyMap {
  private readonly bits: Uint8Array;
  private readonly granules: number;
  private setCount = 0;

  /** The smallest power-of-two granule >= preferred that keeps the map under MAX_GRANULES. */
  static granuleFor(size: number, preferred = DEFAULT_DIRTY_GRANULE): number {
    let granule = preferred;
    while (Math.ceil(size / granule) > MAX_GRANULES) granule *= 2;
    return granule;
  }

  constructor(
    readonly size: number,
    readonly granule: number = DirtyMap.granuleFor(size),
  ) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`dirty map: bad size ${size}`);
    if (!Number.isSafeInteger(granule) || granule < 512 || (granule & (granule - 1)) !== 0) {
      throw new RangeError(`dirty map: granule ${granule} must be a power of two >= 512`);
    }
    this.granules = Math.ceil(size / granule);
    this.bits = new Uint8Array(Math.ceil(this.granules / 8));
  }

  get isEmpty(): boolean {
    return this.setCount === 0;
  }

  /** Bytes covered by marked granules (the last granule counts only up to the volume's end). */
  get dirtyBytes(): number {
    if (this.setCount === 0) return 0;
    const last = this.granules - 1;
    const tail = this.test(last) ? this.granules * this.granule - this.size : 0;
    return this.setCount * this.granule - tail;
  }

  /** Marks every granule the range touches; true if at least one was not marked before. */
  mark(offset: number, length: number): boolean {
    const span = this.span(offset, length);
    if (!span) return false;
    const before = this.setCount;
    for (let g = span[0]; g <= span[1]; g++) {
      const mask = 1 << (g & 7);
      const i = g >> 3;
      if ((this.bits[i] & mask) === 0) {
        this.bits[i] |= mask;
        this.setCount++;
      }
    }
    return this.setCount !== before;
  }

  /** Unmarks every granule the range touches (callers clear whole granules they have re-copied). */
  clear(offset: number, length: number): void {
    const span = this.span(offset, length);
    if (!span) return;
    for (let g = span[0]; g <= span[1]; g++) {
      const mask = 1 << (g & 7);
      const i = g >> 3;
      if ((this.bits[i] & mask) !== 0) {
        this.bits[i] &= ~mask;
        this.setCount--;
      }
    }
  }

  clearAll(): void {
    this.bits.fill(0);
    this.setCount = 0;
  }

  /** True if any granule the range touches is marked. */
  isMarked(offset: number, length: number): boolean {
    const span = this.span(offset, length);
    if (!span || this.setCount === 0) return false;
    for (let g = span[0]; g <= span[1]; g++) if (this.test(g)) return true;
    return false;
  }

  /** Marked byte runs inside [offset, offset+length), clipped to that range and to the volume. */
  runs(offset = 0, length: number = this.size): ByteRange[] {
    const out: ByteRange[] = [];
    const span = this.span(offset, length);
    if (!span || this.setCount === 0) return out;
    const end = Math.min(offset + length, this.size);
    let g = span[0];
    while (g <= span[1]) {
      if (this.bits[g >> 3] === 0 && (g & 7) === 0) {
        g += 8; // skip a whole empty byte
        continue;
      }
      if (!this.test(g)) {
        g++;
        continue;
      }
      let last = g;
      while (last + 1 <= span[1] && this.test(last + 1)) last++;
      const start = Math.max(g * this.granule, offset);
      const stop = Math.min((last + 1) * this.granule, end);
      out.push({ offset: start, length: stop - start });
      g = last + 1;
    }
    return out;
  }

  /** Marks everything `other` marks (any granule; runs are re-marked at this map's granule). */
  merge(other: DirtyMap): boolean {
    let added = false;
    if (other.granule === this.granule && other.size === this.size) {
      for (let i = 0; i < this.bits.length; i++) {
        const extra = other.bits[i] & ~this.bits[i];
        if (extra !== 0) {
          this.bits[i] |= extra;
          this.setCount += popcount8(extra);
          added = true;
        }
      }
      return added;
    }
    for (const run of other.runs()) added = this.mark(run.offset, run.length) || added;
    return added;
  }

  clone(): DirtyMap {
    const copy = new DirtyMap(this.size, this.granule);
    copy.merge(this);
    return copy;
  }

  serialize(): SerializedDirtyMap {
    return {
      granule: this.granule,
      size: this.size,
      runs: this.runs().map((r) => [r.offset, r.length]),
    };
  }

  /** Rebuilds a map from the journal; refuses one made for another volume size. */
  static deserialize(data: SerializedDirtyMap, expectedSize: number): DirtyMap {
    if (data.size !== expectedSize) {
      throw new FerryError(
        'ERR_INVALID_ARGUMENT',
        `dirty map is for a volume of ${data.size} bytes, this volume has ${expectedSize}: the journal belongs to another volume`,
      );
    }
    const map = new DirtyMap(data.size, data.granule);
    for (const [offset, length] of data.runs) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
        throw new FerryError('ERR_INVALID_ARGUMENT', `dirty map: bad run [${offset}, ${length}]`);
      }
      map.mark(offset, Math.min(length, Math.max(0, data.size - offset)));
    }
    return map;
  }

  private test(g: number): boolean {
    return (this.bits[g >> 3] & (1 << (g & 7))) !== 0;
  }

  /** First and last granule of a range, clipped to the volume; undefined when empty. */
  private span(offset: number, length: number): [number, number] | undefined {
    if (length <= 0 || offset >= this.size) return undefined;
    const end = Math.min(offset + length, this.size);
    return [Math.floor(Math.max(0, offset) / this.granule), Math.floor((end - 1) / this.granule)];
  }
}

function popcount8(byte: number): number {
  let v = byte - ((byte >> 1) & 0x55);
  v = (v & 0x33) + ((v >> 2) & 0x33);
  return (v + (v >> 4)) & 0x0f;
}
