// Sizes and names as admins type them (shared/names.ts), used by ctl and checked again by the RPC.
import { describe, expect, it } from 'vitest';
import { formatSize, parseSize, validateName } from '../../shared/names.js';
import { nameSchema, sizeSchema } from '../../shared/rpc/common.js';

describe('parseSize', () => {
  it('accepts bytes and binary units', () => {
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('512M')).toBe(512 * 1024 ** 2);
    expect(parseSize('1G')).toBe(1024 ** 3);
    expect(parseSize('1.5T')).toBe(1.5 * 1024 ** 4);
    expect(parseSize('64KiB')).toBe(64 * 1024);
    expect(parseSize('2gb')).toBe(2 * 1024 ** 3);
  });

  it('refuses what is not a positive size, with ERR_INVALID_SIZE', () => {
    for (const bad of ['', 'lots', '-1M', '0', '1X', '1.5.2G', '9999P']) {
      expect(() => parseSize(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_INVALID_SIZE' }));
    }
  });

  it('formats sizes back', () => {
    expect(formatSize(1024 ** 3)).toBe('1G');
    expect(formatSize(0)).toBe('0B');
  });
});

describe('names', () => {
  it('accepts the documented pattern and refuses the rest', () => {
    for (const good of ['a', 'vol-1', 'db.data_2', '0', 'x'.repeat(64)]) {
      expect(validateName('volume', good)).toBe(good);
      expect(nameSchema.safeParse(good).success).toBe(true);
    }
    for (const bad of ['', 'Vol', '-a', '.a', 'a b', 'a/b', 'x'.repeat(65), 'é']) {
      expect(() => validateName('volume', bad), bad).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_NAME' }),
      );
      expect(nameSchema.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('has the RPC refuse sizes that are not whole positive bytes', () => {
    for (const bad of [0, -1, 1.5, '1G', Number.MAX_SAFE_INTEGER + 1])
      expect(sizeSchema.safeParse(bad).success).toBe(false);
  });
});
