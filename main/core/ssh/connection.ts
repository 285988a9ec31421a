// One SSH connection to one appliance (ssh2): host key always verified (see host-key.ts), keepalives
// on, and a dropped connection re-dialled with exponential backoff while callers wait. It offers what
// the console needs from an appliance: exec with a timeout and the exit code, SFTP, and a stream to a
// UNIX socket on the appliance (OpenSSH's direct-streamlocal) for the agent's control RPC.
//
// States: connecting -> ready <-> reconnecting; any -> closed. Auth and host key failures are final
// (retrying cannot fix them); network failures are retried.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { FerryError, toFerryError } from '../../../shared/errors.js';
import { resolveAuth, type SshAuth } from './auth.js';
import { describeHostKey, type HostKeyInfo, type HostKeyTrust, verifyHostKey } from './host-key.js';
import { mapSshError, type SshWhere } from './ssh-errors.js';

export type SshState = 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface ReconnectPolicy {
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up (state closed) after this many failed dials in a row; default unlimited. */
  maxAttempts?: number;
}

export interface SshConnectOptions {
  host: string;
  port?: number;
  user: string;
  auth: SshAuth;
  hostKey: HostKeyTrust;
  /** Handshake + auth budget per dial (default 15 s); raise it when `hostKey.confirm` prompts a human. */
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** false disables reconnecting; default on. */
  reconnect?: false | ReconnectPolicy;
}

export interface ExecOptions {
  /** Kill the remote command (best effort) and fail with ERR_TIMEOUT after this long. */
  timeoutMs?: number;
  stdin?: string | Buffer;
  /** Stop collecting output past this many bytes per stream (default 16 MiB). */
  maxOutputBytes?: number;
}

export interface ExecResult {
  /** Exit status; null when the command died by a signal. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

const DEFAULTS = { readyTimeoutMs: 15_000, keepaliveIntervalMs: 10_000, keepaliveCountMax: 3 };

export class SshConnection extends EventEmitter {
  private readonly options: SshConnectOptions;
  private readonly where: SshWhere;
  private current: Client | undefined;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private pinned: string | null;
  private stateValue: SshState = 'connecting';
  private lastErrorValue: FerryError | undefined;
  private closing = false;
  private presented: HostKeyInfo | undefined;

  /** Dials and resolves once authenticated; rejects with ERR_HOST_KEY, ERR_AUTH or ERR_UNREACHABLE. */
  static async connect(options: SshConnectOptions): Promise<SshConnection> {
    const connection = new SshConnection(options);
    try {
      connection.current = await connection.dial();
    } catch (err) {
      connection.setState('closed', toFerryError(err));
      throw err;
    }
    connection.setState('ready');
    return connection;
  }

  private constructor(options: SshConnectOptions) {
    super();
    this.options = options;
    this.where = { host: options.host, port: options.port ?? 22, user: options.user };
    this.pinned = options.hostKey.pinned ?? null;
  }

  get state(): SshState {
    return this.stateValue;
  }

  /** Why the connection last failed (set when reconnecting or closed by an error). */
  get lastError(): FerryError | undefined {
    return this.lastErrorValue;
  }

  /** The host key the server presented (fingerprint and type). */
  get hostKey(): HostKeyInfo | undefined {
    return this.presented;
  }

  get target(): Readonly<SshWhere> {
    return this.where;
  }

  /** Runs a command through the remote user's shell; resolves with its exit code and output. */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const client = await this.ready();
    const limit = options.maxOutputBytes ?? 16 * 1024 * 1024;
    return new Promise<ExecResult>((resolve, reject) => {
      client.exec(command, (err, stream) => {
        if (err) {
          reject(mapSshError(err, this.where));
          return;
        }
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let outBytes = 0;
        let errBytes = 0;
        let timedOut = false;
        // On timeout the caller gets its answer at once; the channel is signalled and closed, but
        // sshd may only reap the command when it next writes (not every sshd honours signals).
        const timer =
          options.timeoutMs === undefined
            ? undefined
            : setTimeout(() => {
                timedOut = true;
                killChannel(stream);
                reject(
                  new FerryError(
                    'ERR_TIMEOUT',
                    `${command.slice(0, 80)} did not finish within ${options.timeoutMs} ms on ${this.where.host}`,
                  ),
                );
              }, options.timeoutMs);
        stream.on('data', (chunk: Buffer) => {
          if (outBytes < limit) out.push(chunk);
          outBytes += chunk.length;
        });
        stream.stderr.on('data', (chunk: Buffer) => {
          if (errBytes < limit) errOut.push(chunk);
          errBytes += chunk.length;
        });
        stream.on('error', (e: Error) => {
          clearTimeout(timer);
          reject(mapSshError(e, this.where));
        });
        stream.on('close', (code: number | null, signal?: string) => {
          clearTimeout(timer);
          if (timedOut) return;
          resolve({
            code: typeof code === 'number' ? code : null,
            signal: signal ?? null,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errOut).toString('utf8'),
          });
        });
        if (options.stdin !== undefined) stream.end(options.stdin);
        else stream.end();
      });
    });
  }

  /** exec() that fails with ERR_IO (exit code and stderr in the message) unless the command exits 0. */
  async run(command: string, options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(command, options);
    if (result.code !== 0) {
      const why = result.stderr.trim() || result.stdout.trim() || `signal ${result.signal}`;
      throw new FerryError(
        'ERR_IO',
        `command failed on ${this.where.host} (exit ${result.code ?? result.signal}): ${command.slice(0, 120)}: ${why.slice(0, 500)}`,
        { code: result.code, signal: result.signal, stderr: result.stderr.slice(0, 2000) },
      );
    }
    return result.stdout;
  }

  /** The SFTP session of the current connection (opened once, re-opened after a reconnect). */
  async sftp(): Promise<SFTPWrapper> {
    const client = await this.ready();
    if (!this.sftpSession) {
      this.sftpSession = new Promise<SFTPWrapper>((resolve, reject) => {
        client.sftp((err, sftp) => {
          if (err) {
            this.sftpSession = undefined;
            reject(
              new FerryError('ERR_UNSUPPORTED', `SFTP unavailable on ${this.where.host}: ${err.message}`),
            );
            return;
          }
          sftp.on('error', () => {});
          sftp.on('close', () => {
            this.sftpSession = undefined;
          });
          resolve(sftp);
        });
      });
    }
    return this.sftpSession;
  }

  /** A byte stream to a UNIX socket on the appliance (OpenSSH direct-streamlocal; no port opened). */
  async openUnixSocket(socketPath: string): Promise<Duplex> {
    const client = await this.ready();
    return new Promise<Duplex>((resolve, reject) => {
      client.openssh_forwardOutStreamLocal(socketPath, (err, stream) => {
        if (err) {
          reject(
            new FerryError(
              'ERR_UNREACHABLE',
              `cannot reach ${socketPath} on ${this.where.host}: ${err.message} (is the agent running, and does sshd allow stream-local forwarding?)`,
              { socketPath },
            ),
          );
          return;
        }
        resolve(stream);
      });
    });
  }

  /** An interactive login shell on a pseudo-terminal (the appliance terminal); resize with setWindow. */
  async shell(size: { cols: number; rows: number }): Promise<ClientChannel> {
    const client = await this.ready();
    return new Promise<ClientChannel>((resolve, reject) => {
      client.shell({ term: 'xterm-256color', cols: size.cols, rows: size.rows }, (err, stream) => {
        if (err) reject(new FerryError('ERR_UNSUPPORTED', `no shell on ${this.where.host}: ${err.message}`));
        else resolve(stream);
      });
    });
  }

  /** Idempotent; resolves when the transport is closed (bounded wait). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const client = this.current;
    this.current = undefined;
    this.sftpSession = undefined;
    this.setState('closed');
    if (!client) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.destroy();
        resolve();
      }, 2000);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
  }

  /** Resolves with a ready client, waiting through a reconnect (bounded by the ready timeout). */
  private async ready(): Promise<Client> {
    if (this.stateValue === 'ready' && this.current) return this.current;
    if (this.stateValue === 'closed') {
      throw (
        this.lastErrorValue ??
        new FerryError('ERR_UNREACHABLE', `the SSH connection to ${this.where.host} is closed`)
      );
    }
    const budget = (this.options.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs) * 2;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('state', onState);
        reject(
          new FerryError(
            'ERR_UNREACHABLE',
            `${this.where.host} is unreachable (reconnecting): ${this.lastErrorValue?.message ?? ''}`,
          ),
        );
      }, budget);
      const onState = (state: SshState) => {
        if (state !== 'ready' && state !== 'closed') return;
        clearTimeout(timer);
        this.off('state', onState);
        if (state === 'ready') resolve();
        else
          reject(
            this.lastErrorValue ??
              new FerryError('ERR_UNREACHABLE', `connection to ${this.where.host} closed`),
          );
      };
      this.on('state', onState);
    });
    return this.ready();
  }

  private setState(state: SshState, error?: FerryError): void {
    if (error) this.lastErrorValue = error;
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('state', state, error);
  }

  /** One connection attempt: handshake, host key check, authentication. */
  private async dial(): Promise<Client> {
    const auth = await resolveAuth(this.options.auth);
    const trust: HostKeyTrust = { ...this.options.hostKey, pinned: this.pinned };
    return new Promise<Client>((resolve, reject) => {
      const client = new Client();
      let hostKeyError: FerryError | undefined;
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        client.destroy();
        reject(hostKeyError ?? mapSshError(err, this.where));
      };
      client.on('ready', () => {
        if (settled) return;
        settled = true;
        client.on('close', () => this.onDropped(client));
        resolve(client);
      });
      client.on('error', (err) => {
        if (!settled) fail(err);
        else this.lastErrorValue = mapSshError(err, this.where);
      });
      client.on('close', () => fail(new Error('connection closed during the handshake')));
      client.connect({
        host: this.where.host,
        port: this.where.port,
        username: this.where.user,
        ...auth,
        readyTimeout: this.options.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs,
        keepaliveInterval: this.options.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs,
        keepaliveCountMax: this.options.keepaliveCountMax ?? DEFAULTS.keepaliveCountMax,
        // Never omitted: without it ssh2 accepts any host key.
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          const info = describeHostKey(key);
          this.presented = info;
          verifyHostKey(info, trust, this.where)
            .then(async (toPin) => {
              if (toPin) {
                await this.options.hostKey.onPin?.(toPin);
                this.pinned = toPin.fingerprint;
              }
              verify(true);
            })
            .catch((err: unknown) => {
              hostKeyError = toFerryError(err);
              verify(false);
            });
        },
      });
    });
  }

  private onDropped(client: Client): void {
    if (client !== this.current || this.closing) return;
    this.current = undefined;
    this.sftpSession = undefined;
    if (this.options.reconnect === false) {
      this.setState(
        'closed',
        this.lastErrorValue ?? new FerryError('ERR_UNREACHABLE', `connection to ${this.where.host} dropped`),
      );
      return;
    }
    this.setState('reconnecting', this.lastErrorValue);
    void this.redial();
  }

  private async redial(): Promise<void> {
    const policy = this.options.reconnect || {};
    const initial = policy.initialDelayMs ?? 500;
    const max = policy.maxDelayMs ?? 30_000;
    const maxAttempts = policy.maxAttempts ?? Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < maxAttempts && !this.closing; attempt++) {
      const delay = Math.min(max, initial * 2 ** attempt) * (0.8 + Math.random() * 0.4);
      await new Promise((r) => setTimeout(r, delay));
      if (this.closing) return;
      try {
        const client = await this.dial();
        if (this.closing) {
          client.end();
          return;
        }
        this.current = client;
        this.setState('ready');
        this.emit('reconnected');
        return;
      } catch (err) {
        const error = toFerryError(err);
        this.lastErrorValue = error;
        // A changed host key or refused credentials will not fix themselves.
        if (error.code === 'ERR_HOST_KEY' || error.code === 'ERR_AUTH') {
          this.setState('closed', error);
          return;
        }
      }
    }
    if (!this.closing) this.setState('closed', this.lastErrorValue);
  }
}

function killChannel(stream: ClientChannel): void {
  try {
    stream.signal('KILL');
  } catch {
    // The server may not support signals; closing the channel is the fallback.
  }
  stream.close();
}
