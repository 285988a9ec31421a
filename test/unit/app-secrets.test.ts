// Secrets are saved only where safeStorage really encrypts: not when encryption is unavailable, not on
// Linux's fixed-key 'basic_text' backend (the admin gets a sentence saying why); saved ones are not
// readable in the file and come back decrypted.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type SafeStorageLike, SecretVault, secretStorageStatus } from '../../main/app/secrets.js';

/** A reversible stand-in for safeStorage (XOR), reporting the backend it is told to. */
function safeStorage(available: boolean, backend = 'gnome_libsecret'): SafeStorageLike {
  const xor = (b: Buffer) => Buffer.from(b.map((x) => x ^ 0x5a));
  return {
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString: (s) => xor(Buffer.from(s, 'utf8')),
    decryptString: (b) => xor(b).toString('utf8'),
  };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function vaultFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-secrets-'));
  dirs.push(dir);
  return join(dir, 'secrets.json');
}

describe('secret storage', () => {
  it('refuses to save without encryption, and says so', () => {
    const status = secretStorageStatus(safeStorage(false), 'linux');
    expect(status.canSave).toBe(false);
    const vault = new SecretVault(vaultFile(), safeStorage(false), 'darwin');
    const outcome = vault.save('appliance:box-1:password', 'hunter2');
    expect(outcome.saved).toBe(false);
    if (!outcome.saved) expect(outcome.reason).toMatch(/cannot encrypt secrets/);
    expect(vault.get('appliance:box-1:password')).toBeUndefined();
  });

  it("refuses Linux's basic_text backend (a fixed key), naming what to do", () => {
    const file = vaultFile();
    const vault = new SecretVault(file, safeStorage(true, 'basic_text'), 'linux');
    const outcome = vault.save('k', 'hunter2');
    expect(outcome).toMatchObject({ saved: false });
    if (!outcome.saved) expect(outcome.reason).toMatch(/keyring/);
    expect(() => statSync(file)).toThrow();
    // The same backend name on another platform is not a reason to refuse.
    expect(secretStorageStatus(safeStorage(true, 'basic_text'), 'win32').canSave).toBe(true);
  });

  it('saves encrypted with mode 0600 and reads back; delete forgets it', () => {
    const file = vaultFile();
    const vault = new SecretVault(file, safeStorage(true), 'linux');
    expect(vault.save('k', 'pässwörd')).toEqual({ saved: true });
    expect(readFileSync(file, 'utf8')).not.toContain('pässwörd');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(new SecretVault(file, safeStorage(true), 'linux').get('k')).toBe('pässwörd');
    vault.delete('k');
    expect(vault.get('k')).toBeUndefined();
  });
});
