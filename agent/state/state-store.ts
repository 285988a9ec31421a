// The agent's durable state: small named JSON documents in the state dir, each replaced atomically
// (see atomic-file.ts), plus secrets (PSK keys) in files of mode 0600. A restarted agent reads back
// exactly what was last written.
//
// API (for the volume layer and the move engine):
//   const store = await StateStore.open(dir)          // creates the dir (0700), locks it (one agent)
//   await store.write('moves.m-1', journal)           // atomic; writes to one doc are serialized
//   const doc = await store.read('moves.m-1', schema) // undefined if absent; schema-checked if given
//   await store.remove('moves.m-1'); await store.list('moves.')  // doc names with that prefix
//   await store.writeSecret('psk.vol1', key); await store.readSecret('psk.vol1')
//   await store.close()                               // releases the lock
// Document and secret names: [a-z0-9][a-z0-9._-]{0,127}; files are <name>.json and secrets/<name>.key.

import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { FerryError } from '../../shared/errors.js';
import { fsyncDir, TEMP_MARKER, writeFileAtomic } from './atomic-file.js';
import { acquireStateLock, type StateLock } from './state-lock.js';

const DOC_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const SECRETS_DIR = 'secrets';

export class StateStore {
  /** Per-document write chains, so two writers of one doc land in call order. */
  private readonly queues = new Map<string, Promise<unknown>>();

  private constructor(
    readonly dir: string,
    private readonly lock: StateLock | undefined,
  ) {}

  /** Opens (creating if needed) and locks a state dir. `lock: false` is for read-only inspection. */
  static async open(dir: string, opts: { lock?: boolean } = {}): Promise<StateStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await mkdir(join(dir, SECRETS_DIR), { recursive: true, mode: 0o700 });
    const lock = opts.lock === false ? undefined : await acquireStateLock(dir);
    const store = new StateStore(dir, lock);
    await store.removeLeftoverTemps();
    return store;
  }

  async read<T = unknown>(doc: string, schema?: z.ZodType<T>): Promise<T | undefined> {
    const path = this.docPath(doc);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new FerryError('ERR_IO', `state document ${path} is not valid JSON (${(err as Error).message})`);
    }
    if (!schema) return value as T;
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new FerryError(
        'ERR_IO',
        `state document ${path} does not match its schema: ${parsed.error.message}`,
      );
    }
    return parsed.data;
  }

  async write(doc: string, value: unknown): Promise<void> {
    const path = this.docPath(doc);
    const text = `${JSON.stringify(value, null, 2)}\n`;
    return this.enqueue(doc, () => writeFileAtomic(path, text));
  }

  async remove(doc: string): Promise<void> {
    const path = this.docPath(doc);
    return this.enqueue(doc, async () => {
      await rm(path, { force: true });
      await fsyncDir(this.dir);
    });
  }

  /** Names of the documents whose name starts with `prefix`, sorted. */
  async list(prefix = ''): Promise<string[]> {
    return namesIn(await readdir(this.dir), '.json', prefix);
  }

  /** Names of the secrets whose name starts with `prefix`, sorted. */
  async listSecrets(prefix = ''): Promise<string[]> {
    return namesIn(await readdir(join(this.dir, SECRETS_DIR)), '.key', prefix);
  }

  async writeSecret(name: string, data: Buffer): Promise<void> {
    const path = this.secretPath(name);
    await this.enqueue(`secret:${name}`, () => writeFileAtomic(path, data, 0o600));
  }

  async readSecret(name: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.secretPath(name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async removeSecret(name: string): Promise<void> {
    const path = this.secretPath(name);
    await this.enqueue(`secret:${name}`, async () => {
      await rm(path, { force: true });
      await fsyncDir(join(this.dir, SECRETS_DIR));
    });
  }

  /** Waits for pending writes, then releases the lock. Idempotent. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
    await this.lock?.release();
  }

  private enqueue(key: string, job: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(job);
    this.queues.set(key, next);
    const forget = () => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    };
    next.then(forget, forget);
    return next;
  }

  private docPath(doc: string): string {
    checkName('document', doc);
    return join(this.dir, `${doc}.json`);
  }

  private secretPath(name: string): string {
    checkName('secret', name);
    return join(this.dir, SECRETS_DIR, `${name}.key`);
  }

  private async removeLeftoverTemps(): Promise<void> {
    for (const dir of [this.dir, join(this.dir, SECRETS_DIR)]) {
      for (const entry of await readdir(dir)) {
        if (entry.includes(TEMP_MARKER)) await rm(join(dir, entry), { force: true });
      }
    }
  }
}

function checkName(kind: string, name: string): void {
  if (!DOC_NAME.test(name)) {
    throw new FerryError('ERR_INVALID_NAME', `invalid state ${kind} name ${JSON.stringify(name)}`);
  }
}

/** The valid names among a folder's `entries` with this suffix and prefix, suffix removed, sorted. */
function namesIn(entries: string[], suffix: string, prefix: string): string[] {
  return entries
    .filter((f) => f.endsWith(suffix) && f.startsWith(prefix))
    .map((f) => f.slice(0, -suffix.length))
    .filter((name) => DOC_NAME.test(name))
    .sort();
}
