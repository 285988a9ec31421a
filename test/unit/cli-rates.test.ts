// Rates as admins type them, for ferry move --throttle / --busy-throttle.
import { describe, expect, it } from 'vitest';
import { parseRate } from '../../shared/names.js';

describe('ferry: rates', () => {
  it('reads sizes per second, and 0 or none as no limit', () => {
    expect(parseRate('50M')).toBe(50 * 1024 * 1024);
    expect(parseRate('1G/s')).toBe(1024 ** 3);
    expect(parseRate('0')).toBe(0);
    expect(parseRate('none')).toBe(0);
  });

  it('refuses what is not a rate, saying how to write one', () => {
    expect(() => parseRate('fast')).toThrow(/invalid size "fast": use bytes or a number with K, M, G, T/);
    expect(() => parseRate('-5M')).toThrow(/invalid size/);
  });
});
