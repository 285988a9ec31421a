// The planner's accounting of pool space, shared by the order search, the concurrency simulation and
// the runner, so all three apply one rule: a move reserves its bytes on the target when it starts and
// frees what the volume held on its source only after cutover; a failed move gives its reservation back.

export interface PoolRef {
  appliance: string;
  pool: string;
}

export interface PoolSpace extends PoolRef {
  capacity: number;
  used: number;
}

/** One move the planner schedules: a user's step, or a staging hop it added. */
export interface Hop {
  /** Unique in a plan: the step's id, or `<step id>.stage` for a staging hop. */
  id: string;
  /** The user's step this hop belongs to. */
  stepId: string;
  volume: string;
  from: PoolRef;
  to: PoolRef;
  thin: boolean;
  sizeBytes: number;
  allocatedBytes: number | null;
  /** Bytes taken on the target from the start of the move (full size, or allocated when thin). */
  reserveBytes: number;
  /** Bytes the volume holds on its source, given back at cutover. */
  heldBytes: number;
  staging: boolean;
}

export function poolKey(ref: PoolRef): string {
  return `${ref.appliance}/${ref.pool}`;
}

export function samePool(a: PoolRef, b: PoolRef): boolean {
  return a.appliance === b.appliance && a.pool === b.pool;
}

export class CapacityLedger {
  private constructor(
    private readonly capacity: ReadonlyMap<string, number>,
    private readonly used: Map<string, number>,
  ) {}

  static of(pools: readonly PoolSpace[]): CapacityLedger {
    return new CapacityLedger(
      new Map(pools.map((p) => [poolKey(p), p.capacity])),
      new Map(pools.map((p) => [poolKey(p), p.used])),
    );
  }

  clone(): CapacityLedger {
    return new CapacityLedger(this.capacity, new Map(this.used));
  }

  has(ref: PoolRef): boolean {
    return this.capacity.has(poolKey(ref));
  }

  capacityOf(ref: PoolRef): number {
    return this.capacity.get(poolKey(ref)) ?? 0;
  }

  usedOf(ref: PoolRef): number {
    return this.used.get(poolKey(ref)) ?? 0;
  }

  /** May be negative when the inventory already shows the pool over-full. */
  freeOf(ref: PoolRef): number {
    return this.capacityOf(ref) - this.usedOf(ref);
  }

  fits(hop: Hop): boolean {
    return this.has(hop.to) && this.freeOf(hop.to) >= hop.reserveBytes;
  }

  /** Bytes missing on the hop's target for it to start now (0 when it fits). */
  lack(hop: Hop): number {
    return Math.max(0, hop.reserveBytes - this.freeOf(hop.to));
  }

  /** The move starts: its target LV takes its reservation. */
  reserve(hop: Hop): void {
    this.add(hop.to, hop.reserveBytes);
  }

  /** The move failed or was aborted: the target LV goes, the source keeps the volume. */
  release(hop: Hop): void {
    this.add(hop.to, -hop.reserveBytes);
  }

  /** Cutover done: the source LV is released. */
  complete(hop: Hop): void {
    if (this.has(hop.from)) this.add(hop.from, -hop.heldBytes);
  }

  private add(ref: PoolRef, bytes: number): void {
    const key = poolKey(ref);
    if (!this.capacity.has(key)) return;
    this.used.set(key, Math.max(0, (this.used.get(key) ?? 0) + bytes));
  }
}
