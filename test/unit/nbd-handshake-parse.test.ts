// Option payload decoding: every client-supplied length is checked before use.

import { describe, expect, it } from 'vitest';
import { parseInfoRequest, parseMetaContextRequest } from '../../agent/nbd/handshake-parse.js';
import { goData, metaContextData } from '../helpers/nbd-raw-client.js';

describe('parseInfoRequest', () => {
  it('decodes a name and info requests', () => {
    expect(parseInfoRequest(goData('disk', [1, 3]))).toEqual({ ok: true, name: 'disk', requests: [1, 3] });
    expect(parseInfoRequest(goData(''))).toEqual({ ok: true, name: '', requests: [] });
  });

  it('refuses lengths that do not add up', () => {
    const huge = goData('disk');
    huge.writeUInt32BE(0xffffffff, 0);
    expect(parseInfoRequest(huge)).toMatchObject({ ok: false, error: expect.stringContaining('4294967295') });
    const short = goData('disk', [1]).subarray(0, 11);
    expect(parseInfoRequest(short).ok).toBe(false);
    expect(parseInfoRequest(Buffer.concat([goData('disk'), Buffer.from([0])])).ok).toBe(false);
    expect(parseInfoRequest(Buffer.alloc(3)).ok).toBe(false);
  });

  it('refuses names over 4096 bytes, with NUL, or not UTF-8', () => {
    expect(parseInfoRequest(goData('a'.repeat(4097))).ok).toBe(false);
    expect(parseInfoRequest(goData('a\0b')).ok).toBe(false);
    const bad = goData('ab');
    bad[4] = 0xff;
    expect(parseInfoRequest(bad)).toMatchObject({ ok: false, error: expect.stringContaining('UTF-8') });
  });
});

describe('parseMetaContextRequest', () => {
  it('decodes queries', () => {
    expect(parseMetaContextRequest(metaContextData('disk', ['base:allocation', 'base:']))).toEqual({
      ok: true,
      exportName: 'disk',
      queries: ['base:allocation', 'base:'],
    });
  });

  it('refuses a query count or length past the option', () => {
    const missing = metaContextData('disk', ['base:allocation']);
    missing.writeUInt32BE(2, 8);
    expect(parseMetaContextRequest(missing).ok).toBe(false);
    const long = metaContextData('disk', ['base:allocation']);
    long.writeUInt32BE(0xfffffff0, 12);
    expect(parseMetaContextRequest(long).ok).toBe(false);
    expect(parseMetaContextRequest(Buffer.concat([metaContextData('d', []), Buffer.alloc(1)])).ok).toBe(
      false,
    );
  });
});
