// Host key trust against a real sshd: refused on first contact with the fingerprint, accepted with
// that exact value and pinned in the store, then a changed key (sshd restarted with a new one) is
// refused with both fingerprints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAppliance, SshConnection } from '../../main/core/ssh/index.js';
import { openStore, type Store } from '../../main/core/store/index.js';
import { FerryError } from '../../shared/errors.js';
import { type SshdFixture, startSshd } from '../helpers/sshd-fixture.js';

let sshd: SshdFixture;
let store: Store;

beforeAll(async () => {
  sshd = await startSshd({ host: '127.0.0.11' });
  store = openStore({ path: ':memory:', actor: 'test' });
  store.appliances.add({
    name: 'alpha',
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    auth: { kind: 'key', identityFile: sshd.userKeyPath },
    agentDir: `${sshd.dir}/agent`,
    nbdListen: '127.0.0.11:10809',
  });
});

afterAll(async () => {
  store?.close();
  await sshd?.stop();
});

async function refusal(promise: Promise<unknown>): Promise<FerryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FerryError);
  return err as FerryError;
}

describe('SSH host key pinning', () => {
  it('refuses the first connection and names the fingerprint', async () => {
    const fp = sshd.hostKeyFingerprint();
    const err = await refusal(connectAppliance(store, 'alpha', { reconnect: false }));
    expect(err.code).toBe('ERR_HOST_KEY');
    expect(err.message).toContain(fp);
    expect(err.details).toMatchObject({ presented: fp, type: 'ssh-ed25519', firstContact: true });
    expect(store.appliances.require('alpha').hostKey).toBeNull();
    expect(store.appliances.require('alpha').status).toBe('error');
  });

  it('refuses an --accept-host-key value that does not match', async () => {
    const err = await refusal(
      connectAppliance(store, 'alpha', { acceptHostKey: `SHA256:${'A'.repeat(43)}` }),
    );
    expect(err.code).toBe('ERR_HOST_KEY');
    expect(store.appliances.require('alpha').hostKey).toBeNull();
  });

  it('accepts a declined interactive prompt as a refusal, and an accepted one as a pin', async () => {
    const declined = await refusal(connectAppliance(store, 'alpha', { confirmHostKey: async () => false }));
    expect(declined.code).toBe('ERR_HOST_KEY');
    let asked = '';
    const conn = await SshConnection.connect({
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      auth: { kind: 'key', identityFile: sshd.userKeyPath },
      hostKey: {
        confirm: async (key) => {
          asked = key.fingerprint;
          return true;
        },
      },
    });
    expect(asked).toBe(sshd.hostKeyFingerprint());
    await conn.close();
  });

  it('accepts the exact fingerprint, pins it, and then needs no acceptance', async () => {
    const fp = sshd.hostKeyFingerprint();
    const first = await connectAppliance(store, 'alpha', { acceptHostKey: fp });
    expect(first.hostKey?.fingerprint).toBe(fp);
    await first.close();
    const pinned = store.appliances.require('alpha');
    expect(pinned.hostKey).toMatchObject({ fingerprint: fp, type: 'ssh-ed25519' });
    expect(pinned.status).toBe('online');
    expect(store.audit.list({ subject: 'alpha', actionPrefix: 'appliance.host-key' })).toHaveLength(1);

    const again = await connectAppliance(store, 'alpha');
    expect((await again.run('echo pinned')).trim()).toBe('pinned');
    await again.close();
  });

  it('refuses a changed host key with both fingerprints', async () => {
    const old = sshd.hostKeyFingerprint();
    await sshd.restart({ newHostKey: true });
    const now = sshd.hostKeyFingerprint();
    expect(now).not.toBe(old);
    const err = await refusal(connectAppliance(store, 'alpha'));
    expect(err.code).toBe('ERR_HOST_KEY');
    expect(err.message).toContain(old);
    expect(err.message).toContain(now);
    expect(err.message).toMatch(/CHANGED/);
    // Accepting the new value alone does not replace a pin...
    const still = await refusal(connectAppliance(store, 'alpha', { acceptHostKey: now }));
    expect(still.code).toBe('ERR_HOST_KEY');
    expect(store.appliances.require('alpha').hostKey?.fingerprint).toBe(old);
    // ...only the explicit replacement does.
    const conn = await connectAppliance(store, 'alpha', { acceptHostKey: now, replacePinnedHostKey: true });
    await conn.close();
    expect(store.appliances.require('alpha').hostKey?.fingerprint).toBe(now);
  });
});
