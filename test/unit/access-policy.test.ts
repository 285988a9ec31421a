import { describe, expect, it } from 'vitest';
import {
  type AccessPolicy,
  decide,
  defaultPolicy,
  describePolicy,
  LOOPBACK_ONLY,
  parseAllowOption,
  parseHostTlsMode,
  validatePolicy,
  validatePskIdentity,
} from '../../agent/access/access-policy.js';
import { FerryError } from '../../shared/errors.js';

function policy(overrides: Partial<AccessPolicy> = {}): AccessPolicy {
  return { ...defaultPolicy(), ...overrides };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof FerryError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('defaultPolicy', () => {
  it('is loopback only, read-write, no TLS', () => {
    expect(defaultPolicy()).toEqual({
      allow: ['127.0.0.0/8', '::1/128'],
      denyAll: false,
      readOnly: false,
      hostTls: 'off',
      pskIdentities: [],
    });
    expect(LOOPBACK_ONLY).toEqual(['127.0.0.0/8', '::1/128']);
  });

  it('takes the agent-wide defaults from serve --hosts-allow and --host-tls', () => {
    const p = defaultPolicy({ hostsAllow: parseAllowOption('10.0.0.0/8,fd00::/8'), hostTls: 'allow' });
    expect(p.allow).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(p.hostTls).toBe('allow');
  });

  it('refuses a bad agent default', () => {
    expect(codeOf(() => defaultPolicy({ hostsAllow: ['10.0.0.1/8'] }))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('decide: addresses', () => {
  it('allows loopback clients by default, v4, v6 and mapped', () => {
    for (const address of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1']) {
      expect(decide(policy(), { address })).toEqual({ allowed: true, readOnly: false });
    }
  });

  it('refuses others by default, naming the address and the rules', () => {
    const d = decide(policy(), { address: '192.0.2.7' });
    expect(d.allowed).toBe(false);
    expect(d.reason).toBe("192.0.2.7 is not in the volume's allow list (127.0.0.0/8, ::1/128)");
    expect(decide(policy(), { address: '::ffff:192.0.2.7' }).reason).toContain('192.0.2.7 is not');
    expect(decide(policy(), { address: '2001:db8::1' }).allowed).toBe(false);
  });

  it('tells 127.0.0.1 from 127.0.0.2 with a /32 rule', () => {
    const p = policy({ allow: ['127.0.0.1/32'] });
    expect(decide(p, { address: '127.0.0.1' }).allowed).toBe(true);
    expect(decide(p, { address: '::ffff:127.0.0.1' }).allowed).toBe(true);
    expect(decide(p, { address: '127.0.0.2' }).allowed).toBe(false);
  });

  it('refuses everyone with an empty allow list', () => {
    const d = decide(policy({ allow: [] }), { address: '127.0.0.1' });
    expect(d).toMatchObject({
      allowed: false,
      reason: "127.0.0.1 is not in the volume's allow list (nothing)",
    });
  });

  it('allows everyone with /0 rules of both families', () => {
    const p = policy({ allow: ['0.0.0.0/0', '::/0'] });
    for (const address of ['203.0.113.1', '2001:db8::5', '::ffff:10.0.0.1']) {
      expect(decide(p, { address }).allowed).toBe(true);
    }
  });

  it('strips a zone id from a link-local client address', () => {
    expect(decide(policy({ allow: ['fe80::/10'] }), { address: 'fe80::1%eth0' }).allowed).toBe(true);
  });

  it('refuses an address it cannot read rather than guessing', () => {
    const d = decide(policy({ allow: ['0.0.0.0/0'] }), { address: 'garbage' });
    expect(d.allowed).toBe(false);
    expect(d.reason).toContain('not understood');
  });

  it('fails closed on a stored entry that no longer parses', () => {
    expect(decide(policy({ allow: ['bad entry', '10.0.0.0/8'] }), { address: '10.1.1.1' }).allowed).toBe(
      true,
    );
    expect(decide(policy({ allow: ['bad entry'] }), { address: '10.1.1.1' }).allowed).toBe(false);
  });

  it('allows UNIX-socket and stdio clients unless deny-all', () => {
    const p = policy({ allow: ['10.0.0.0/8'] });
    expect(decide(p, { address: 'unix' }).allowed).toBe(true);
    expect(decide(p, { address: 'stdio' }).allowed).toBe(true);
    expect(decide({ ...p, denyAll: true }, { address: 'unix' }).allowed).toBe(false);
  });
});

describe('decide: deny-all, read-only, TLS', () => {
  it('deny-all wins over any allow rule', () => {
    const d = decide(policy({ denyAll: true, allow: ['0.0.0.0/0'] }), { address: '127.0.0.1' });
    expect(d).toEqual({
      allowed: false,
      readOnly: false,
      reason: 'the volume denies all hosts (--deny-all)',
    });
  });

  it('passes read-only on to allowed clients', () => {
    expect(decide(policy({ readOnly: true }), { address: '::1' })).toEqual({ allowed: true, readOnly: true });
  });

  it('require refuses plaintext with needTls, and takes TLS clients', () => {
    const p = policy({ hostTls: 'require', pskIdentities: ['host1'] });
    expect(decide(p, { address: '127.0.0.1' })).toMatchObject({ allowed: false, needTls: true });
    expect(decide(p, { address: '127.0.0.1', tlsIdentity: 'host1' }).allowed).toBe(true);
  });

  it('require still applies the address rules to TLS clients', () => {
    const p = policy({ hostTls: 'require', allow: ['10.0.0.0/8'], pskIdentities: ['host1'] });
    const d = decide(p, { address: '127.0.0.1', tlsIdentity: 'host1' });
    expect(d.allowed).toBe(false);
    expect(d.needTls).toBeUndefined();
  });

  it('allow and off take plaintext clients', () => {
    expect(decide(policy({ hostTls: 'allow' }), { address: '127.0.0.1' }).allowed).toBe(true);
    expect(decide(policy({ hostTls: 'off' }), { address: '127.0.0.1' }).allowed).toBe(true);
  });

  it('a TLS client with an identity the volume does not list is refused, even with none listed', () => {
    expect(
      decide(policy({ hostTls: 'allow' }), { address: '127.0.0.1', tlsIdentity: 'other' }),
    ).toMatchObject({
      allowed: false,
      reason: 'PSK identity "other" is not allowed to open the volume',
    });
  });

  it('only listed PSK identities may open a volume that lists some', () => {
    const p = policy({ hostTls: 'allow', pskIdentities: ['host1'] });
    expect(decide(p, { address: '127.0.0.1', tlsIdentity: 'host1' }).allowed).toBe(true);
    const d = decide(p, { address: '127.0.0.1', tlsIdentity: 'host2' });
    expect(d).toMatchObject({
      allowed: false,
      reason: 'PSK identity "host2" is not allowed to open the volume',
    });
  });
});

describe('validatePolicy', () => {
  it('returns a canonical copy of a good policy', () => {
    const p = validatePolicy({
      allow: ['10.0.0.0/8', '2001:DB8::/32', '10.0.0.0/8'],
      denyAll: false,
      readOnly: true,
      hostTls: 'require',
      pskIdentities: ['host1', 'host1'],
    });
    expect(p).toEqual({
      allow: ['10.0.0.0/8', '2001:db8::/32'],
      denyAll: false,
      readOnly: true,
      hostTls: 'require',
      pskIdentities: ['host1'],
    });
  });

  it.each([
    [null, 'expected an object'],
    [[], 'expected an object'],
    [{ ...defaultPolicy(), allow: 'x' }, 'allow must be'],
    [{ ...defaultPolicy(), allow: ['10.0.0.300'] }, '"10.0.0.300"'],
    [{ ...defaultPolicy(), denyAll: 'no' }, 'denyAll must be'],
    [{ ...defaultPolicy(), readOnly: 1 }, 'readOnly must be'],
    [{ ...defaultPolicy(), hostTls: 'maybe' }, 'use one of off, allow, require'],
    [{ ...defaultPolicy(), hostTls: undefined }, 'hostTls must be'],
    [{ ...defaultPolicy(), pskIdentities: [3] }, 'pskIdentities must be'],
    [{ ...defaultPolicy(), pskIdentities: ['has space'] }, 'invalid PSK identity'],
  ])('refuses %j', (input, why) => {
    expect(() => validatePolicy(input)).toThrow(why);
  });
});

describe('small parsers', () => {
  it('parseHostTlsMode takes the three modes only', () => {
    expect(parseHostTlsMode('require')).toBe('require');
    expect(() => parseHostTlsMode('on')).toThrow('use one of off, allow, require');
  });

  it('validatePskIdentity keeps identities plain', () => {
    expect(validatePskIdentity('host1@shop.example')).toBe('host1@shop.example');
    for (const bad of ['', '-x', 'a b', 'a/b', 'x'.repeat(65)]) {
      expect(codeOf(() => validatePskIdentity(bad))).toBe('ERR_INVALID_ARGUMENT');
    }
  });

  it('parseAllowOption canonicalises and drops duplicates', () => {
    expect(parseAllowOption('127.0.0.1,127.0.0.1/32,::1')).toEqual(['127.0.0.1/32', '::1/128']);
  });

  it('describePolicy reads as one line', () => {
    expect(describePolicy(defaultPolicy())).toBe('allow 127.0.0.0/8, ::1/128; read-write; host TLS off');
    expect(describePolicy(policy({ denyAll: true, readOnly: true, pskIdentities: ['a'] }))).toBe(
      'deny all hosts; read-only; host TLS off (identities: a)',
    );
  });
});
