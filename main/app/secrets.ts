// Secrets the admin chose to remember (SSH passwords, key passphrases), encrypted with Electron's
// safeStorage into one file beside the store (mode 0600). Where safeStorage cannot encrypt, or on Linux
// it fell back to 'basic_text' (a fixed key: anyone who can read the file can read the secrets), nothing
// is saved and the caller gets a sentence to show the admin instead.

import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** The part of Electron's safeStorage used here (a plain object in tests). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  /** Linux only. */
  getSelectedStorageBackend?(): string;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

export type SecretStorageStatus = { canSave: true } | { canSave: false; reason: string };

export function secretStorageStatus(
  safe: SafeStorageLike,
  platform: NodeJS.Platform = process.platform,
): SecretStorageStatus {
  if (!safe.isEncryptionAvailable()) {
    return {
      canSave: false,
      reason:
        'Ferry cannot encrypt secrets on this system (no keychain or secret service), so it will not remember passwords or passphrases: you will be asked each time.',
    };
  }
  if (platform === 'linux' && safe.getSelectedStorageBackend?.() === 'basic_text') {
    return {
      canSave: false,
      reason:
        'No desktop keyring (GNOME Keyring, KWallet) is running, so secrets could only be stored with a fixed key anyone can undo: Ferry will not remember passwords or passphrases. Start a keyring and restart Ferry to have them remembered.',
    };
  }
  return { canSave: true };
}

export type SaveOutcome = { saved: true } | { saved: false; reason: string };

export class SecretVault {
  constructor(
    private readonly file: string,
    private readonly safe: SafeStorageLike,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {}

  get status(): SecretStorageStatus {
    return secretStorageStatus(this.safe, this.platform);
  }

  /** Saves nothing (and says why) when the platform cannot keep it safe. */
  save(key: string, secret: string): SaveOutcome {
    const status = this.status;
    if (!status.canSave) return { saved: false, reason: status.reason };
    const all = this.readAll();
    all[key] = this.safe.encryptString(secret).toString('base64');
    this.writeAll(all);
    return { saved: true };
  }

  /** The secret, or undefined when none is saved or it cannot be decrypted any more. */
  get(key: string): string | undefined {
    if (!this.status.canSave) return undefined;
    const sealed = this.readAll()[key];
    if (sealed === undefined) return undefined;
    try {
      return this.safe.decryptString(Buffer.from(sealed, 'base64'));
    } catch {
      return undefined;
    }
  }

  delete(key: string): void {
    const all = this.readAll();
    if (!(key in all)) return;
    delete all[key];
    this.writeAll(all);
  }

  private readAll(): Record<string, string> {
    if (!existsSync(this.file)) return {};
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.file, 'utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
      return Object.fromEntries(
        Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      );
    } catch {
      return {};
    }
  }

  private writeAll(all: Record<string, string>): void {
    const temp = `${this.file}.tmp`;
    writeFileSync(temp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, this.file);
  }
}
