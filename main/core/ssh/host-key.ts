// Host key trust, as OpenSSH does it: the SHA256 fingerprint of the key blob (base64, no padding),
// refused on first contact until the admin accepts it, then pinned; a changed key is always refused
// with both fingerprints, because it is either a reinstall (verify out of band) or an attack.
import { createHash } from 'node:crypto';
import { FerryError } from '../../../shared/errors.js';

export interface HostKeyInfo {
  /** `SHA256:` + base64 without padding, exactly as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** Key algorithm from the blob, e.g. ssh-ed25519. */
  type: string;
}

export interface HostKeyTrust {
  /** Fingerprint pinned earlier (from the store); null/undefined on first contact. */
  pinned?: string | null;
  /** Accept a first-contact key whose fingerprint equals this value (`--accept-host-key`). */
  acceptHostKey?: string;
  /**
   * Replace a pinned key that changed, but only with the exact `acceptHostKey` value. For the admin
   * who verified a reinstalled appliance's new key; never set implicitly.
   */
  replacePinned?: boolean;
  /** Interactive prompt on first contact (a TTY yes/no, a dialog); resolves true to accept. */
  confirm?: (key: HostKeyInfo, where: { host: string; port: number }) => Promise<boolean>;
  /** Persists a newly accepted key (e.g. store.appliances.pinHostKey). */
  onPin?: (key: HostKeyInfo) => void | Promise<void>;
}

export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name at the head of an SSH public key blob (uint32 length + string). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  if (len <= 0 || len > 64 || keyBlob.length < 4 + len) return 'unknown';
  return keyBlob.subarray(4, 4 + len).toString('ascii');
}

export function describeHostKey(keyBlob: Buffer): HostKeyInfo {
  return { fingerprint: fingerprintOf(keyBlob), type: keyTypeOf(keyBlob) };
}

/**
 * Decides whether to trust a presented key. Resolves with the key to pin when a first contact was
 * accepted, `undefined` when it matches the pin, and throws ERR_HOST_KEY otherwise.
 */
export async function verifyHostKey(
  key: HostKeyInfo,
  trust: HostKeyTrust,
  where: { host: string; port: number },
): Promise<HostKeyInfo | undefined> {
  const at = `${where.host}:${where.port}`;
  if (trust.pinned) {
    if (trust.pinned === key.fingerprint) return undefined;
    if (trust.replacePinned && trust.acceptHostKey === key.fingerprint) return key;
    throw new FerryError(
      'ERR_HOST_KEY',
      `HOST KEY CHANGED for ${at}: pinned ${trust.pinned}, but the server now presents ${key.fingerprint} (${key.type}). ` +
        'Someone may be intercepting the connection, or the appliance was reinstalled. Verify the new key on the ' +
        'appliance (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) before replacing the pinned one.',
      {
        host: where.host,
        port: where.port,
        pinned: trust.pinned,
        presented: key.fingerprint,
        type: key.type,
      },
    );
  }
  if (trust.acceptHostKey !== undefined) {
    if (trust.acceptHostKey === key.fingerprint) return key;
    throw new FerryError(
      'ERR_HOST_KEY',
      `host key of ${at} is ${key.fingerprint} (${key.type}), not the ${trust.acceptHostKey} you accepted: refused`,
      {
        host: where.host,
        port: where.port,
        presented: key.fingerprint,
        expected: trust.acceptHostKey,
        type: key.type,
      },
    );
  }
  if (trust.confirm && (await trust.confirm(key, where))) return key;
  throw new FerryError(
    'ERR_HOST_KEY',
    `unknown host key for ${at}: ${key.fingerprint} (${key.type}). Check it on the appliance ` +
      `(ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and accept it with --accept-host-key ${key.fingerprint}`,
    { host: where.host, port: where.port, presented: key.fingerprint, type: key.type, firstContact: true },
  );
}
