// One NBD command on its way through a connection's queues: to issue -> in flight (keyed by cookie)
// -> done (settled). It carries its own result state so the reply parser can fill it chunk by chunk
// (structured replies arrive in pieces) and settle it once.

import type { BackendError, Extent } from '../../backend/block-backend.js';
import { Cmd, commandName } from '../wire.js';

export class Command {
  cookie = 0;
  /** Bytes of a READ accounted for by data and hole chunks, to detect a short reply. */
  covered = 0;
  extents: Extent[] | null = null;
  /** The first error chunk wins; later ones are ignored (the spec allows several). */
  error: BackendError | null = null;
  settled = false;

  constructor(
    readonly type: number,
    readonly flags: number,
    readonly offset: number,
    readonly length: number,
    /** WRITE: the payload sent after the header. */
    readonly payload: Buffer | null,
    /** READ: where the data goes (exactly `length` bytes). */
    readonly into: Buffer | null,
    private readonly resolveFn: (cmd: Command) => void,
    private readonly rejectFn: (err: Error) => void,
  ) {}

  static create(
    type: number,
    flags: number,
    offset: number,
    length: number,
    payload: Buffer | null,
    into: Buffer | null,
  ): { cmd: Command; done: Promise<Command> } {
    let resolveFn!: (cmd: Command) => void;
    let rejectFn!: (err: Error) => void;
    const done = new Promise<Command>((res, rej) => {
      resolveFn = res;
      rejectFn = rej;
    });
    return { cmd: new Command(type, flags, offset, length, payload, into, resolveFn, rejectFn), done };
  }

  get isRead(): boolean {
    return this.type === Cmd.READ;
  }

  describe(): string {
    return `${commandName(this.type)} at ${this.offset} length ${this.length}`;
  }

  resolve(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveFn(this);
  }

  reject(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(err);
  }

  /** Settles with the recorded error chunk, if any, else with success. */
  finish(): void {
    if (this.error) this.reject(this.error);
    else this.resolve();
  }
}
