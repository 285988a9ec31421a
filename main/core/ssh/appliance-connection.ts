// Connects to an appliance recorded in the store: its SSH settings and pinned host key come from the
// store, a newly accepted key is pinned there, and the outcome is recorded as the appliance's status.
// Secrets (passphrase, password) come from the caller's callbacks and are never stored.
import { FerryError, toFerryError } from '../../../shared/errors.js';
import type { Store } from '../store/store.js';
import type { SecretSource, SshAuth } from './auth.js';
import { SshConnection, type SshConnectOptions } from './connection.js';
import type { HostKeyTrust } from './host-key.js';

export interface ApplianceConnectOptions {
  /** Overrides the stored auth method (e.g. a CLI flag). */
  auth?: SshAuth;
  /** Asked only when the identity file is encrypted. */
  passphrase?: SecretSource;
  /** Asked when the stored method is password. */
  password?: SecretSource;
  acceptHostKey?: string;
  replacePinnedHostKey?: boolean;
  confirmHostKey?: HostKeyTrust['confirm'];
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  reconnect?: SshConnectOptions['reconnect'];
}

export function authForAppliance(
  stored: { kind: 'agent' } | { kind: 'key'; identityFile: string } | { kind: 'password' },
  options: ApplianceConnectOptions,
): SshAuth {
  if (options.auth) return options.auth;
  switch (stored.kind) {
    case 'agent':
      return { kind: 'agent' };
    case 'key':
      return { kind: 'key', identityFile: stored.identityFile, passphrase: options.passphrase };
    case 'password':
      if (options.password === undefined) {
        throw new FerryError(
          'ERR_AUTH',
          'this appliance uses password authentication: a password is needed (run on a terminal)',
        );
      }
      return { kind: 'password', password: options.password };
  }
}

export async function connectAppliance(
  store: Store,
  name: string,
  options: ApplianceConnectOptions = {},
): Promise<SshConnection> {
  const appliance = store.appliances.require(name);
  if (appliance.transport !== 'ssh') {
    throw new FerryError('ERR_INVALID_ARGUMENT', `appliance ${name} is a local agent, not reached by SSH`);
  }
  try {
    const connection = await SshConnection.connect({
      host: appliance.host,
      port: appliance.port,
      user: appliance.user,
      auth: authForAppliance(appliance.auth, options),
      hostKey: {
        pinned: appliance.hostKey?.fingerprint ?? null,
        acceptHostKey: options.acceptHostKey,
        replacePinned: options.replacePinnedHostKey,
        confirm: options.confirmHostKey,
        onPin: (key) => {
          store.appliances.pinHostKey(name, key.fingerprint, key.type);
        },
      },
      readyTimeoutMs: options.readyTimeoutMs,
      keepaliveIntervalMs: options.keepaliveIntervalMs,
      reconnect: options.reconnect,
    });
    store.appliances.setStatus(name, 'online', { detail: null });
    connection.on('state', (state: string, error?: FerryError) => {
      // Runs from timers: a store closed meanwhile (the shell exiting) must not crash the process.
      try {
        if (state === 'ready') store.appliances.setStatus(name, 'online', { detail: null });
        else if (state === 'reconnecting' || (state === 'closed' && error)) {
          store.appliances.setStatus(name, 'offline', { detail: error?.message ?? 'connection lost' });
        }
      } catch {
        // status bookkeeping is best effort
      }
    });
    return connection;
  } catch (err) {
    const error = toFerryError(err);
    const status = error.code === 'ERR_UNREACHABLE' ? 'offline' : 'error';
    store.appliances.setStatus(name, status, { detail: `${error.code}: ${error.message}` });
    throw error;
  }
}
