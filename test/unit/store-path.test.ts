// Default store location: the same user data folder Electron's app.getPath('userData') gives "Ferry".
import { describe, expect, it } from 'vitest';
import { resolveStorePath } from '../../main/core/store/index.js';

describe('store path', () => {
  it('follows XDG on Linux, Application Support on macOS, APPDATA on Windows', () => {
    expect(resolveStorePath(undefined, { env: {}, platform: 'linux', home: '/home/ann' })).toBe(
      '/home/ann/.config/Ferry/ferry.db',
    );
    expect(
      resolveStorePath(undefined, { env: { XDG_CONFIG_HOME: '/x' }, platform: 'linux', home: '/h' }),
    ).toBe('/x/Ferry/ferry.db');
    expect(resolveStorePath(undefined, { env: {}, platform: 'darwin', home: '/Users/ann' })).toBe(
      '/Users/ann/Library/Application Support/Ferry/ferry.db',
    );
    expect(
      resolveStorePath(undefined, {
        env: { APPDATA: 'C:\\AppData' },
        platform: 'win32',
        home: 'C:\\Users\\ann',
      }),
    ).toMatch(/AppData.Ferry.ferry\.db$/);
  });

  it('prefers an explicit path, then FERRY_STORE', () => {
    expect(resolveStorePath('/tmp/a.db', { env: { FERRY_STORE: '/tmp/b.db' } })).toBe('/tmp/a.db');
    expect(
      resolveStorePath(undefined, { env: { FERRY_STORE: '/tmp/b.db' }, platform: 'linux', home: '/h' }),
    ).toBe('/tmp/b.db');
  });
});
