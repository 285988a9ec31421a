// A BlockBackend whose LV lives on another appliance, reached with the agent's NBD client. It owns
// the link's life (the LINK_STATES table in nbd/client/states.ts): when the link fails, requests in
// flight and new ones wait while the link reconnects with backoff (100 ms doubling to 5 s, with
// jitter), then run again on the new connection (re-issuing a block write is harmless). A request
// fails with EIO only after waiting `timeoutMs` for a working link. With `failFast` (a move's
// mirror), requests fail at once while the link is down, and the link still comes back by itself.

import { readFile } from 'node:fs/promises';
import { type ErrorCode, FerryError } from '../../shared/errors.js';
import { createLogger, type Logger } from '../log.js';
import { NbdHandshakeError, NbdLinkError } from '../nbd/client/errors.js';
import { NbdClient, type NbdClientOptions } from '../nbd/client/nbd-client.js';
import { assertLinkTransition, type LinkState } from '../nbd/client/states.js';
import { describeNbdUrl, type NbdUrl, parseNbdUrl } from '../nbd/nbd-url.js';
import {
  type BackendCapabilities,
  BackendError,
  type BlockBackend,
  type Extent,
  type WriteOptions,
  type ZeroOptions,
} from './block-backend.js';

export interface RemoteBackendOptions {
  /** nbd://HOST:PORT/EXPORT or nbds://[ID@]HOST:PORT/EXPORT[?tls-psk-file=FILE]. */
  url: string;
  pskIdentity?: string;
  /** Raw key bytes (the PSK file holds them in hex). */
  pskKey?: Buffer;
  /** How long a request may wait for a working link before failing with EIO; default 60 000. */
  timeoutMs?: number;
  connections?: number;
  maxInFlight?: number;
  /** Fail requests at once with EIO while the link is down (the link still reconnects). */
  failFast?: boolean;
  /**
   * Requests in flight with no reply for this long mean a hung server or a cut network: the link is
   * dropped and re-established. Default: half of timeoutMs, within 5..30 s.
   */
  stallTimeoutMs?: number;
  log?: Logger;
}

export type RemoteLinkState = 'connected' | 'reconnecting' | 'closed';

export interface RemoteBackend extends BlockBackend {
  isConnected(): boolean;
  onStateChange(cb: (s: RemoteLinkState) => void): () => void;
  /**
   * From now on a request that finds the link down fails at once (EIO, saying `why`), and those
   * waiting for it fail now: for an agent that is stopping, where waiting out the I/O timeout would
   * only hold up the stop. A working link serves requests as before.
   */
  stopWaiting(why: string): void;
}

/** The remote links an agent has open, so that its shutdown can stop their waiting in one call. */
export class RemoteLinkSet {
  private readonly links = new Set<RemoteBackend>();

  async track(opening: Promise<RemoteBackend>): Promise<RemoteBackend> {
    const link = await opening;
    this.links.add(link);
    link.onStateChange((state) => {
      if (state === 'closed') this.links.delete(link);
    });
    return link;
  }

  stopWaiting(why: string): void {
    for (const link of this.links) link.stopWaiting(why);
  }
}

const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 5_000;

interface Waiter {
  what: string;
  since: number;
  timer: NodeJS.Timeout;
  run(client: NbdClient): void;
  fail(err: Error): void;
}

export async function openRemoteBackend(opts: RemoteBackendOptions): Promise<RemoteBackend> {
  const url = parseNbdUrl(opts.url);
  const tls = await resolveCredentials(url, opts);
  const log = opts.log ?? createLogger('remote');
  const clientOpts: NbdClientOptions = {
    host: url.host,
    port: url.port,
    exportName: url.exportName,
    tls,
    connections: opts.connections,
    maxInFlight: opts.maxInFlight,
    stallTimeoutMs: opts.stallTimeoutMs ?? Math.min(30_000, Math.max(5_000, (opts.timeoutMs ?? 60_000) / 2)),
    log,
  };
  const where = describeNbdUrl(url);
  let client: NbdClient;
  try {
    client = await NbdClient.connect(clientOpts);
  } catch (err) {
    throw toFerryError(err, where);
  }
  return new RemoteLink(client, clientOpts, where, opts, log);
}

class RemoteLink implements RemoteBackend {
  private state: LinkState = 'connecting';
  private client: NbdClient;
  private readonly waiting = new Set<Waiter>();
  private readonly listeners = new Set<(s: RemoteLinkState) => void>();
  private readonly exportSize: number;
  private readonly caps: BackendCapabilities;
  private readonly timeoutMs: number;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private lastLinkError = '';
  private downSince = 0;
  private closing: Promise<void> | null = null;
  /** Set by stopWaiting(): requests fail at once while the link is down. */
  private noWaitReason: string | null = null;

  constructor(
    client: NbdClient,
    private readonly clientOpts: NbdClientOptions,
    private readonly where: string,
    private readonly opts: RemoteBackendOptions,
    private readonly log: Logger,
  ) {
    this.client = client;
    this.exportSize = client.size;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.caps = {
      readOnly: client.readOnly,
      canFlush: client.canFlush,
      canFua: client.canFua,
      canTrim: client.canTrim,
      canZero: true, // the client writes zeroes itself when the server cannot
      canFastZero: client.canFastZero,
      canCache: false,
      canExtents: client.canBlockStatus,
      canMultiConn: client.canMultiConn,
    };
    this.adopt(client);
  }

  // --- BlockBackend ---

  size(): number {
    return this.exportSize;
  }
  capabilities(): BackendCapabilities {
    return { ...this.caps };
  }
  read(into: Buffer, offset: number): Promise<void> {
    return this.exec('READ', offset, into.length, (c) => c.pread(into, offset));
  }
  write(data: Buffer, offset: number, opts: WriteOptions = {}): Promise<void> {
    return this.exec('WRITE', offset, data.length, (c) => c.pwrite(data, offset, opts));
  }
  flush(): Promise<void> {
    return this.exec('FLUSH', 0, 0, (c) => c.flush());
  }
  trim(offset: number, length: number, opts: WriteOptions = {}): Promise<void> {
    return this.exec('TRIM', offset, length, (c) => c.trim(offset, length, opts));
  }
  zero(offset: number, length: number, opts: ZeroOptions = {}): Promise<void> {
    const zeroOpts = { noHole: !opts.mayTrim, fastZero: opts.fastZero, fua: opts.fua };
    return this.exec('WRITE_ZEROES', offset, length, (c) => c.zero(offset, length, zeroOpts));
  }
  extents(offset: number, length: number): Promise<Extent[]> {
    return this.exec('BLOCK_STATUS', offset, length, (c) => c.blockStatus(offset, length));
  }
  async cache(): Promise<void> {}

  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.setState('closed');
    const shut = new BackendError('ESHUTDOWN', `the remote backend ${this.where} is closed`);
    for (const w of [...this.waiting]) w.fail(shut);
    this.waiting.clear();
    this.closing = this.client.close().catch(() => {});
    return this.closing;
  }

  stopWaiting(why: string): void {
    this.noWaitReason = why;
    for (const w of [...this.waiting]) w.fail(this.downError(w.what, Date.now() - w.since));
    this.waiting.clear();
  }

  // --- link state ---

  isConnected(): boolean {
    return this.state === 'connected';
  }

  onStateChange(cb: (s: RemoteLinkState) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private setState(next: LinkState): void {
    if (next === this.state) return;
    assertLinkTransition(this.state, next);
    this.state = next;
    if (next !== 'connecting') for (const cb of [...this.listeners]) cb(next);
  }

  /** A new client becomes the link: listen for its death and give it every waiting request. */
  private adopt(client: NbdClient): void {
    this.client = client;
    client.onDisconnect((err) => this.linkLost(client, err));
    this.setState('connected');
    this.attempt = 0;
    const waiters = [...this.waiting];
    this.waiting.clear();
    if (waiters.length > 0) {
      const downMs = Date.now() - this.downSince;
      this.log.info(
        `link to ${this.where} is back after ${downMs} ms; re-issuing ${waiters.length} requests`,
      );
    }
    for (const w of waiters) w.run(client);
  }

  /** The explicit reconnect edge: connected -> reconnecting, then attempts with backoff. */
  private linkLost(client: NbdClient, err: Error): void {
    if (client !== this.client || this.state !== 'connected') return;
    this.lastLinkError = err.message;
    this.downSince = Date.now();
    this.setState('reconnecting');
    this.log.warn(`link to ${this.where} lost (${err.message}); reconnecting`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.5 + Math.random() * 0.5));
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.tryReconnect();
    }, delay);
  }

  private async tryReconnect(): Promise<void> {
    if (this.state !== 'reconnecting') return;
    let client: NbdClient;
    try {
      client = await NbdClient.connect(this.clientOpts);
    } catch (err) {
      this.lastLinkError = (err as Error).message;
      if (this.attempt === 1 || this.attempt % 10 === 0) {
        this.log.warn(`reconnect to ${this.where} failed (attempt ${this.attempt}): ${this.lastLinkError}`);
      }
      if (this.state === 'reconnecting') this.scheduleReconnect();
      return;
    }
    if (this.state !== 'reconnecting') {
      void client.close();
      return;
    }
    if (client.size !== this.exportSize) {
      this.lastLinkError = `the export's size changed from ${this.exportSize} to ${client.size}`;
      this.log.error(`refusing the reconnected ${this.where}: ${this.lastLinkError}`);
      void client.close();
      this.scheduleReconnect();
      return;
    }
    this.adopt(client);
  }

  // --- requests ---

  private exec<T>(
    what: string,
    offset: number,
    length: number,
    op: (c: NbdClient) => Promise<T>,
  ): Promise<T> {
    if (this.state === 'closed') {
      return Promise.reject(new BackendError('ESHUTDOWN', `the remote backend ${this.where} is closed`));
    }
    const label = `${what} at ${offset} length ${length}`;
    if (this.state !== 'connected') {
      if (this.failsFast) return Promise.reject(this.downError(label, 0));
      return this.wait(label, op, Date.now());
    }
    const client = this.client;
    return op(client).catch((err: unknown) => {
      if (!(err instanceof NbdLinkError) || this.state === 'closed') throw err;
      this.linkLost(client, err);
      if (this.failsFast) throw this.downError(label, 0);
      return this.wait(label, op, Date.now());
    });
  }

  /** Parks a request until the link is back, or fails it after timeoutMs without a link. */
  private wait<T>(label: string, op: (c: NbdClient) => Promise<T>, since: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(waiter.timer);
        this.waiting.delete(waiter);
        fn();
      };
      const waiter: Waiter = {
        what: label,
        since,
        timer: setTimeout(
          () => settle(() => reject(this.downError(label, Date.now() - since))),
          Math.max(0, this.timeoutMs - (Date.now() - since)),
        ),
        run: (client) => {
          op(client).then(
            (value) => settle(() => resolve(value)),
            (err: unknown) => {
              if (settled) return;
              if (err instanceof NbdLinkError && this.state !== 'closed' && !this.failsFast) {
                this.linkLost(client, err);
                if (this.state === 'connected') waiter.run(this.client);
                else this.waiting.add(waiter);
                return;
              }
              settle(() => reject(err));
            },
          );
        },
        fail: (err) => settle(() => reject(err)),
      };
      this.waiting.add(waiter);
      // The link may have come back between the failure and now.
      if (this.state === 'connected' && this.client.isAlive) {
        this.waiting.delete(waiter);
        waiter.run(this.client);
      }
    });
  }

  private get failsFast(): boolean {
    return this.opts.failFast === true || this.noWaitReason !== null;
  }

  private downError(label: string, waitedMs: number): BackendError {
    const waited = waitedMs > 0 ? `waited ${(waitedMs / 1000).toFixed(1)} s` : 'failing fast';
    const why = this.noWaitReason ? `; not waiting for it: ${this.noWaitReason}` : '';
    const last = this.lastLinkError ? `; last error: ${this.lastLinkError}` : '';
    return new BackendError('EIO', `${label} on ${this.where}: no working link (${waited})${why}${last}`);
  }
}

async function resolveCredentials(url: NbdUrl, opts: RemoteBackendOptions): Promise<NbdClientOptions['tls']> {
  const identity = opts.pskIdentity ?? url.pskIdentity;
  if (!url.tls) {
    if (opts.pskKey || opts.pskIdentity) {
      throw new FerryError(
        'ERR_INVALID_ARGUMENT',
        `a PSK was given for the plaintext URL ${describeNbdUrl(url)}; use nbds:// to require TLS`,
      );
    }
    return undefined;
  }
  if (!identity) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `nbds:// needs a PSK identity (ID@ in the URL or pskIdentity)`,
    );
  }
  let key = opts.pskKey;
  if (!key && url.pskFile) key = await keyFromPskFile(url.pskFile, identity);
  if (!key || key.length === 0) {
    throw new FerryError('ERR_INVALID_ARGUMENT', `nbds:// needs a PSK key for identity '${identity}'`);
  }
  return { identity, key };
}

/** A PSK file as nbdkit, qemu and libnbd read it: `identity:hexkey`, one a line. */
async function keyFromPskFile(file: string, identity: string): Promise<Buffer> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new FerryError('ERR_INVALID_ARGUMENT', `cannot read PSK file ${file}: ${err.message}`);
  });
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0 && line.slice(0, at) === identity) {
      const hex = line.slice(at + 1).trim();
      if (!/^([0-9a-fA-F]{2})+$/.test(hex)) {
        throw new FerryError('ERR_INVALID_ARGUMENT', `the key of '${identity}' in ${file} is not hex`);
      }
      return Buffer.from(hex, 'hex');
    }
  }
  throw new FerryError('ERR_INVALID_ARGUMENT', `PSK file ${file} has no identity '${identity}'`);
}

const HANDSHAKE_CODES: Record<NbdHandshakeError['kind'], ErrorCode> = {
  unreachable: 'ERR_UNREACHABLE',
  timeout: 'ERR_UNREACHABLE',
  protocol: 'ERR_PROTOCOL',
  'tls-unavailable': 'ERR_TLS',
  'tls-required': 'ERR_TLS',
  'tls-auth': 'ERR_AUTH',
  export: 'ERR_NOT_FOUND',
};

function toFerryError(err: unknown, where: string): FerryError {
  if (err instanceof FerryError) return err;
  if (err instanceof NbdHandshakeError) {
    return new FerryError(HANDSHAKE_CODES[err.kind], err.message, { url: where, kind: err.kind });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new FerryError('ERR_UNREACHABLE', `cannot open ${where}: ${message}`, { url: where });
}
