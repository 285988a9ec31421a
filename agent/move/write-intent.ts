// Write-intent log (as md RAID's write-intent bitmap): before a write to a region the target already
// holds (behind the cursor), the region is marked, and the mark is made durable if it is new. A
// checkpoint counts marked regions as dirty, so an agent killed while such writes were in flight
// copies those regions again on restart instead of trusting a target that may be half written.
// Marks are cleared lazily, once a region has had no writes for a whole checkpoint interval, so a
// hot region costs one durable write, not one per host write.

import { DirtyMap } from './dirty-map.js';

/**
 * The region one mark covers (md's default bitmap chunk for large arrays). A host write to a region
 * not yet marked waits for a durable checkpoint (an fsync on a disk): with 4 MiB regions, 5000
 * random 4 KiB writes over 2 GiB waited 512 times, with 64 MiB ones 32. The price of a coarse mark
 * is paid only after a crash: the part of a marked region behind the cursor is copied again.
 */
export const INTENT_GRANULE = 64 * 1024 * 1024;

export class WriteIntentLog {
  readonly marks: DirtyMap;
  private readonly inFlight = new Map<number, number>();
  private touched = new Set<number>();

  constructor(
    size: number,
    /** Makes the current marks durable (a coalesced checkpoint). */
    private readonly persistNow: () => Promise<void>,
    granule = DirtyMap.granuleFor(size, INTENT_GRANULE),
  ) {
    this.marks = new DirtyMap(size, granule);
  }

  /**
   * Marks the regions before writes to them start; `durable` waits until a new mark is on disk.
   * Resolves with the function to call once the writes have settled (and any failure is recorded).
   */
  async begin(
    regions: ReadonlyArray<{ offset: number; length: number }>,
    durable: boolean,
  ): Promise<() => void> {
    const granules: number[] = [];
    let added = false;
    for (const r of regions) {
      added = this.marks.mark(r.offset, r.length) || added;
      const first = Math.floor(r.offset / this.marks.granule);
      const last = Math.floor((r.offset + r.length - 1) / this.marks.granule);
      for (let g = first; g <= last; g++) {
        granules.push(g);
        this.inFlight.set(g, (this.inFlight.get(g) ?? 0) + 1);
        this.touched.add(g);
      }
    }
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      for (const g of granules) {
        const n = (this.inFlight.get(g) ?? 1) - 1;
        if (n === 0) this.inFlight.delete(g);
        else this.inFlight.set(g, n);
        this.touched.add(g);
      }
    };
    if (added && durable) {
      try {
        await this.persistNow();
      } catch (err) {
        end();
        throw err;
      }
    }
    return end;
  }

  get writesInFlight(): number {
    return this.inFlight.size;
  }

  /** Before a checkpoint: unmarks regions with no write in flight and none since the last sweep. */
  sweep(): void {
    for (const run of this.marks.runs()) {
      const first = Math.floor(run.offset / this.marks.granule);
      const last = Math.floor((run.offset + run.length - 1) / this.marks.granule);
      for (let g = first; g <= last; g++) {
        if (!this.inFlight.has(g) && !this.touched.has(g)) {
          this.marks.clear(g * this.marks.granule, 1);
        }
      }
    }
    this.touched = new Set();
  }
}
