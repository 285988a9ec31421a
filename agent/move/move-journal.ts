// A move's durable record: one JSON document per move (id, vv, source, target, options, phase,
// checkpoint, timestamps), written through the agent's state store, which writes atomically (temp
// file, fsync, rename). A restarted agent reads these records to resume its moves.
// PSK keys are never in the record: the state dir keeps them separately, mode 0600.

import { z } from 'zod';
import { FerryError } from '../../shared/errors.js';
import { mappingSchema } from '../../shared/rpc/common.js';
import { DEFAULT_BUSY_THROTTLE, MOVE_PHASES, type MoveCheckpoint, type MovePhase } from './move-types.js';

/** The part of the agent's StateStore a journal needs. read() of a missing document: undefined or null. */
export interface JsonDocumentStore {
  read(name: string): Promise<unknown>;
  write(name: string, value: unknown): Promise<void>;
}

const nonNegative = z.number().int().nonnegative();

const checkpointSchema = z.object({
  phase: z.enum(MOVE_PHASES),
  paused: z.boolean(),
  cursor: nonNegative,
  dirty: z.object({
    granule: z.number().int().positive(),
    size: nonNegative,
    runs: z.array(z.tuple([nonNegative, nonNegative])),
  }),
  verifyCursor: nonNegative,
  verified: z.boolean(),
  mirroredWrites: nonNegative,
  mismatches: nonNegative,
  cutoverPauseMs: z.number().nonnegative().nullable(),
  error: z.string().nullable(),
});

export const moveRecordSchema = z.object({
  version: z.literal(1),
  id: z.string().min(1),
  vv: z.string().min(1),
  /** The vv's mapping when the move started, and the one cutover switches it to. */
  source: mappingSchema,
  target: mappingSchema,
  options: z.object({
    chunkSize: z.number().int().positive(),
    parallel: z.number().int().positive(),
    throttle: z.number().nonnegative().nullable(),
    /** Absent in journals from before the busy-hosts cap: they get the default when read. */
    busyThrottle: z.number().nonnegative().nullable().default(DEFAULT_BUSY_THROTTLE),
    verify: z.boolean(),
    keepSource: z.boolean(),
    targetReadsZero: z.boolean(),
  }),
  /** The vv's mapping epoch when the move started; cutover makes it epoch + 1. */
  epoch: nonNegative,
  /** The vv's size in bytes. */
  size: nonNegative,
  checkpoint: checkpointSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type MoveRecord = z.infer<typeof moveRecordSchema>;
export type MoveOptionsRecord = MoveRecord['options'];

export const MOVE_DOCUMENT_PREFIX = 'moves.';
export const MOVE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

export function moveDocumentName(id: string): string {
  if (!MOVE_ID_PATTERN.test(id)) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `move id ${JSON.stringify(id)} is not valid`);
  }
  return `${MOVE_DOCUMENT_PREFIX}${id}`;
}

/** The state store secret holding a move's PSK key for a remote target (never in the record). */
export function movePskSecretName(id: string): string {
  moveDocumentName(id); // the same id check
  return `move.${id}.psk`;
}

/** A checkpoint for a move that has not copied anything yet. */
export function initialCheckpoint(volumeSize: number, granule: number): MoveCheckpoint {
  return {
    phase: 'copying',
    paused: false,
    cursor: 0,
    dirty: { granule, size: volumeSize, runs: [] },
    verifyCursor: 0,
    verified: false,
    mirroredWrites: 0,
    mismatches: 0,
    cutoverPauseMs: null,
    error: null,
  };
}

/** One move's record, kept in memory and written through on every change. */
export class MoveJournal {
  /** Writes go one after the other, each from the record the previous one left. */
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: JsonDocumentStore,
    private current: MoveRecord,
  ) {}

  /** Writes a new record; refuses an id that already has one. */
  static async create(
    store: JsonDocumentStore,
    init: Omit<z.input<typeof moveRecordSchema>, 'version' | 'createdAt' | 'updatedAt' | 'finishedAt'>,
  ): Promise<MoveJournal> {
    const name = moveDocumentName(init.id);
    if ((await store.read(name)) != null) {
      throw new FerryError('ERR_ALREADY_EXISTS', `a move with id ${init.id} already exists`);
    }
    const now = new Date().toISOString();
    const record = moveRecordSchema.parse({
      ...init,
      version: 1,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    });
    await store.write(name, record);
    return new MoveJournal(store, record);
  }

  /** Reads and validates a record; undefined when there is none. */
  static async load(store: JsonDocumentStore, id: string): Promise<MoveJournal | undefined> {
    const raw = await store.read(moveDocumentName(id));
    if (raw == null) return undefined;
    const parsed = moveRecordSchema.safeParse(raw);
    if (!parsed.success) {
      throw new FerryError(
        'ERR_INTERNAL',
        `the journal of move ${id} is damaged (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}); abort the move or remove its record`,
      );
    }
    return new MoveJournal(store, parsed.data);
  }

  get record(): Readonly<MoveRecord> {
    return this.current;
  }

  get phase(): MovePhase {
    return this.current.checkpoint.phase;
  }

  /** The engine's persist(): merges a checkpoint into the record and writes it. */
  async saveCheckpoint(checkpoint: MoveCheckpoint): Promise<void> {
    const terminal =
      checkpoint.phase === 'done' || checkpoint.phase === 'aborted' || checkpoint.phase === 'failed';
    await this.update({
      checkpoint,
      finishedAt: terminal ? (this.current.finishedAt ?? new Date().toISOString()) : null,
    });
  }

  /** Changes other fields (options such as the throttle) and writes the record. */
  update(changes: Partial<Pick<MoveRecord, 'checkpoint' | 'options' | 'finishedAt'>>): Promise<void> {
    const write = this.queue.then(async () => {
      const next: MoveRecord = { ...this.current, ...changes, updatedAt: new Date().toISOString() };
      await this.store.write(moveDocumentName(next.id), next);
      this.current = next;
    });
    this.queue = write.catch(() => {});
    return write;
  }
}
