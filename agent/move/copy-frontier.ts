// Which chunks a move's copy has passed. The cursor is the low-water mark (every chunk below it is
// copied); with several chunks in flight, chunks just above it may finish first and are kept in a
// small set. "Behind the cursor" in the mirror rule means: the chunk is copied.

import type { ByteRange } from './dirty-map.js';

export class CopyFrontier {
  readonly chunkCount: number;
  private low: number;
  private readonly doneAhead = new Set<number>();
  private readonly claimed = new Set<number>();
  private nextToClaim: number;

  constructor(
    readonly size: number,
    readonly chunkSize: number,
    cursorBytes = 0,
  ) {
    this.chunkCount = Math.ceil(size / chunkSize);
    // A checkpoint taken with another chunk size may fall inside a chunk: start that chunk again.
    this.low = Math.min(Math.floor(Math.max(0, cursorBytes) / chunkSize), this.chunkCount);
    this.nextToClaim = this.low;
  }

  /** Bytes below the low-water mark: what a checkpoint may record as copied. */
  get cursor(): number {
    return Math.min(this.low * this.chunkSize, this.size);
  }

  get complete(): boolean {
    return this.low >= this.chunkCount;
  }

  /** Bytes of the chunks copied so far (for progress). */
  get copiedBytes(): number {
    let bytes = this.cursor;
    for (const c of this.doneAhead) bytes += this.chunkLength(c);
    return bytes;
  }

  isCopied(chunk: number): boolean {
    return chunk < this.low || this.doneAhead.has(chunk);
  }

  chunkLength(chunk: number): number {
    return Math.min(this.chunkSize, this.size - chunk * this.chunkSize);
  }

  /** The next chunk nobody copies yet, or undefined when every chunk is copied or claimed. */
  claimNext(): number | undefined {
    for (let c = this.nextToClaim; c < this.chunkCount; c++) {
      if (!this.isCopied(c) && !this.claimed.has(c)) {
        this.claimed.add(c);
        this.nextToClaim = c + 1;
        return c;
      }
    }
    return undefined;
  }

  /** Gives a claimed chunk back uncopied (its copy failed); the next claim picks it again. */
  unclaim(chunk: number): void {
    this.claimed.delete(chunk);
    this.nextToClaim = Math.min(this.nextToClaim, chunk);
  }

  markCopied(chunk: number): void {
    this.claimed.delete(chunk);
    if (chunk < this.low) return;
    this.doneAhead.add(chunk);
    while (this.doneAhead.delete(this.low)) this.low++;
  }

  /** The parts of a byte range that lie in copied chunks, as contiguous runs. */
  copiedRuns(offset: number, length: number): ByteRange[] {
    const runs: ByteRange[] = [];
    if (length <= 0) return runs;
    const end = offset + length;
    if (end <= this.cursor) return [{ offset, length }];
    for (let c = Math.floor(offset / this.chunkSize); c * this.chunkSize < end; c++) {
      if (!this.isCopied(c)) continue;
      const start = Math.max(offset, c * this.chunkSize);
      const stop = Math.min(end, (c + 1) * this.chunkSize);
      const last = runs[runs.length - 1];
      if (last && last.offset + last.length === start) last.length += stop - start;
      else runs.push({ offset: start, length: stop - start });
    }
    return runs;
  }
}
