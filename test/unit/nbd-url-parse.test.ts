import { describe, expect, it } from 'vitest';
import { DEFAULT_NBD_PORT, formatNbdUrl, parseNbdUrl } from '../../agent/nbd/nbd-url.js';
import { FerryError } from '../../shared/errors.js';

describe('parseNbdUrl', () => {
  it('parses plaintext and TLS URLs', () => {
    expect(parseNbdUrl('nbd://10.0.0.5:10810/vv-1')).toEqual({
      tls: false,
      host: '10.0.0.5',
      port: 10810,
      exportName: 'vv-1',
    });
    expect(parseNbdUrl('nbds://move-42@app-b.lan:10809/pool%2Flv')).toEqual({
      tls: true,
      host: 'app-b.lan',
      port: 10809,
      exportName: 'pool/lv',
      pskIdentity: 'move-42',
    });
  });

  it('accepts IPv6 in brackets, a default port and an empty export', () => {
    expect(parseNbdUrl('nbds://[::1]:4000/x')).toMatchObject({ host: '::1', port: 4000, exportName: 'x' });
    expect(parseNbdUrl('nbd://[fe80::1%25eth0]/')).toMatchObject({ host: 'fe80::1%eth0' });
    expect(parseNbdUrl('nbd://host')).toMatchObject({ port: DEFAULT_NBD_PORT, exportName: '' });
    expect(parseNbdUrl('nbd://host:99//abs')).toMatchObject({ exportName: '/abs' });
  });

  it('reads tls-psk-file as libnbd does', () => {
    expect(parseNbdUrl('nbds://id@h:1/e?tls-psk-file=/etc/k.psk')).toMatchObject({ pskFile: '/etc/k.psk' });
  });

  it('round-trips through formatNbdUrl', () => {
    for (const text of ['nbds://id@[::1]:4000/a%20b', 'nbd://h.example:10809/e']) {
      expect(parseNbdUrl(formatNbdUrl(parseNbdUrl(text)))).toEqual(parseNbdUrl(text));
    }
  });

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['http://h/e', /unknown scheme 'http'/],
    ['nbd+unix:///e?socket=/s', /UNIX-socket/],
    ['nbd://id@h:1/e', /only makes sense with nbds/],
    ['nbds://id:pw@h:1/e', /passwords/],
    ['nbds://@h:1/e', /identity before '@' is empty/],
    ['nbd://:10809/e', /host is missing/],
    ['nbd://::1:10809/e', /port|host/],
    ['nbd://[zz::1]:1/e', /not an IPv6 address/],
    ['nbd://h:0/e', /not in 1..65535/],
    ['nbd://h:70000/e', /not in 1..65535/],
    ['nbd://h:port/e', /not a number/],
    ['nbd://300.1.1.1/e', /not an IPv4 address/],
    ['nbd://bad_host!/e', /not a valid host name/],
    ['nbd://h/%zz', /percent-encoding/],
    ['nbd://h/e#frag', /fragment/],
    ['nbd://h/e?tls-psk-file=/k', /only makes sense with nbds/],
    ['nbds://h/e?foo=1', /unsupported query parameter 'foo'/],
    [`nbd://h/${'x'.repeat(4097)}`, /longer than 4096/],
  ];
  for (const [text, why] of bad) {
    it(`rejects ${JSON.stringify(text.slice(0, 40))}`, () => {
      let caught: unknown;
      try {
        parseNbdUrl(text);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(FerryError);
      expect((caught as FerryError).code).toBe('ERR_INVALID_ARGUMENT');
      expect((caught as FerryError).message).toMatch(why);
    });
  }
});
