import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  formatIp,
  type IpAddress,
  parseCidr,
  parseCidrList,
  parseIp,
} from '../../agent/access/cidr.js';
import { FerryError } from '../../shared/errors.js';

function ip(text: string): IpAddress {
  const parsed = parseIp(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

function matches(rule: string, client: string): boolean {
  return cidrContains(parseCidr(rule), ip(client));
}

function errorOf(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FerryError) return err;
    throw err;
  }
  throw new Error('expected a FerryError');
}

describe('parseIp', () => {
  it.each([
    ['127.0.0.1', 4, 0x7f000001n],
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n],
    ['2001:DB8:0:0:0:0:0:1', 6, 0x20010db8000000000000000000000001n],
    ['fe80::', 6, 0xfe800000000000000000000000000000n],
    ['::ffff:127.0.0.1', 6, 0xffff7f000001n],
    ['64:ff9b::192.0.2.33', 6, 0x0064ff9b0000000000000000c0000221n],
    ['1:2:3:4:5:6:7:8', 6, 0x00010002000300040005000600070008n],
  ])('reads %s', (text, family, value) => {
    expect(parseIp(text)).toEqual({ family, value });
  });

  it.each([
    ['1.2.3', '4 numbers'],
    ['1.2.3.4.5', '4 numbers'],
    ['256.1.1.1', 'above 255'],
    ['01.2.3.4', 'leading zero'],
    ['1.2.3.-4', 'not an IPv4'],
    ['1::2::3', "'::' may appear only once"],
    ['1:2:3:4:5:6:7', 'not 8'],
    ['1:2:3:4:5:6:7:8:9', 'not 8'],
    ['1:2:3:4::5:6:7:8', 'too many groups'],
    ['12345::', 'hex digits'],
    ['gggg::', 'hex digits'],
    ['::ffff:1.2.3.256', 'IPv4 part'],
    ['1.2.3.4::', 'must come last'],
    ['fe80::1%eth0', 'zone id'],
    ['localhost', 'not an IPv4 or IPv6'],
    ['', 'not an IPv4 or IPv6'],
  ])('refuses %s saying %s', (text, why) => {
    const parsed = parseIp(text);
    expect(typeof parsed).toBe('string');
    expect(parsed).toContain(why);
  });
});

describe('formatIp', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::', '::'],
    ['::1', '::1'],
    ['::ffff:7f00:1', '::ffff:127.0.0.1'],
  ])('writes %s as %s (RFC 5952)', (text, canonical) => {
    expect(formatIp(ip(text))).toBe(canonical);
  });
});

describe('parseCidr', () => {
  it('takes a bare address as a single host', () => {
    expect(parseCidr('10.1.2.3')).toMatchObject({ family: 4, prefix: 32, text: '10.1.2.3/32' });
    expect(parseCidr('::1')).toMatchObject({ family: 6, prefix: 128, text: '::1/128' });
  });

  it('trims spaces and canonicalises', () => {
    expect(parseCidr(' 2001:DB8::/32 ').text).toBe('2001:db8::/32');
  });

  it.each([
    ['10.0.0.0/33', 'use 0-32 for IPv4'],
    ['::/129', 'use 0-128 for IPv6'],
    ['10.0.0.0/', 'prefix length ""'],
    ['10.0.0.0/8/8', 'prefix length "8/8"'],
    ['10.0.0.0/-1', 'prefix length'],
    ['10.0.0.0/ 8', 'prefix length'],
    ['10.1.2.3/8', 'did you mean 10.0.0.0/8 or 10.1.2.3?'],
    ['2001:db8::1/64', 'did you mean 2001:db8::/64'],
    ['', 'empty entry'],
    ['nope/8', 'not an IPv4 or IPv6'],
  ])('refuses %s saying %s', (text, why) => {
    const err = errorOf(() => parseCidr(text));
    expect(err.code).toBe('ERR_INVALID_ARGUMENT');
    expect(err.message).toContain(why);
  });
});

describe('parseCidrList', () => {
  it('reads a comma-separated list of addresses and ranges', () => {
    expect(parseCidrList('127.0.0.1,10.0.0.0/8, ::1 ,fd00::/8').map((c) => c.text)).toEqual([
      '127.0.0.1/32',
      '10.0.0.0/8',
      '::1/128',
      'fd00::/8',
    ]);
  });

  it('names the bad entry in a list', () => {
    expect(errorOf(() => parseCidrList('10.0.0.0/8,10.0.0.300')).message).toContain('"10.0.0.300"');
    expect(errorOf(() => parseCidrList('10.0.0.0/8,,::1')).message).toContain('empty entry');
    expect(errorOf(() => parseCidrList('10.0.0.0/8,')).message).toContain('empty entry');
    expect(errorOf(() => parseCidrList('  ')).message).toContain('address list is empty');
  });
});

describe('cidrContains', () => {
  it('matches IPv4 ranges at their edges', () => {
    expect(matches('10.0.0.0/8', '10.0.0.0')).toBe(true);
    expect(matches('10.0.0.0/8', '10.255.255.255')).toBe(true);
    expect(matches('10.0.0.0/8', '11.0.0.0')).toBe(false);
    expect(matches('10.0.0.0/8', '9.255.255.255')).toBe(false);
    expect(matches('192.168.1.128/25', '192.168.1.127')).toBe(false);
    expect(matches('192.168.1.128/25', '192.168.1.200')).toBe(true);
  });

  it('treats /32 and /128 as exactly one host', () => {
    expect(matches('127.0.0.1/32', '127.0.0.1')).toBe(true);
    expect(matches('127.0.0.1/32', '127.0.0.2')).toBe(false);
    expect(matches('::1/128', '::1')).toBe(true);
    expect(matches('::1/128', '::2')).toBe(false);
  });

  it('treats /0 as everything of its family', () => {
    expect(matches('0.0.0.0/0', '203.0.113.9')).toBe(true);
    expect(matches('0.0.0.0/0', '2001:db8::1')).toBe(false);
    expect(matches('::/0', '2001:db8::1')).toBe(true);
  });

  it('matches IPv6 ranges', () => {
    expect(matches('2001:db8::/32', '2001:db8:ffff::1')).toBe(true);
    expect(matches('2001:db8::/32', '2001:db9::1')).toBe(false);
    expect(matches('fe80::/10', 'febf::1')).toBe(true);
    expect(matches('fe80::/10', 'fec0::1')).toBe(false);
  });

  it('matches IPv4-mapped IPv6 clients against IPv4 rules', () => {
    expect(matches('127.0.0.0/8', '::ffff:127.0.0.1')).toBe(true);
    expect(matches('127.0.0.1', '::ffff:127.0.0.2')).toBe(false);
    expect(matches('10.0.0.0/8', '::ffff:a00:1')).toBe(true);
  });

  it('matches IPv4 clients against IPv6 rules of the mapped range', () => {
    expect(matches('::ffff:0:0/96', '192.0.2.1')).toBe(true);
    expect(matches('::ffff:127.0.0.0/104', '127.0.0.1')).toBe(true);
    expect(matches('::ffff:127.0.0.0/104', '10.0.0.1')).toBe(false);
    expect(matches('::/0', '192.0.2.1')).toBe(true);
  });

  it('does not match IPv4 loopback with IPv6 loopback', () => {
    expect(matches('::1/128', '127.0.0.1')).toBe(false);
    expect(matches('127.0.0.0/8', '::1')).toBe(false);
  });
});
