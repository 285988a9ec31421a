// The browser shell's small helpers: where the built renderer is, whether a browser can be opened,
// and which static paths stay inside the renderer folder.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { browserOpener } from '../../main/web/open-browser.js';
import { findRendererDir } from '../../main/web/renderer-dir.js';
import { contentSecurityPolicy, resolveStaticPath } from '../../main/web/static-files.js';

describe('web shell helpers', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('finds the first folder holding index.html, or says how to build it', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ferry-r-'));
    const built = await mkdtemp(join(tmpdir(), 'ferry-r-'));
    dirs.push(empty, built);
    await writeFile(join(built, 'index.html'), '<!doctype html>');
    expect(findRendererDir([empty, built])).toBe(built);
    expect(() => findRendererDir([empty])).toThrow(/run npm run build:renderer/);
  });

  it('opens a browser only where there is a desktop', () => {
    expect(browserOpener('http://x', 'darwin')?.command).toBe('open');
    const saved = { d: process.env.DISPLAY, w: process.env.WAYLAND_DISPLAY };
    delete process.env.DISPLAY;
    delete process.env.WAYLAND_DISPLAY;
    try {
      expect(browserOpener('http://x', 'linux')).toBeNull();
    } finally {
      if (saved.d !== undefined) process.env.DISPLAY = saved.d;
      if (saved.w !== undefined) process.env.WAYLAND_DISPLAY = saved.w;
    }
  });

  it('keeps static paths inside the renderer folder', () => {
    expect(resolveStaticPath('/srv/r', '/')).toBe('/srv/r/index.html');
    expect(resolveStaticPath('/srv/r', '/assets/a.js')).toBe('/srv/r/assets/a.js');
    expect(resolveStaticPath('/srv/r', '/../etc/passwd')).toBeNull();
    expect(resolveStaticPath('/srv/r', '/%2e%2e/etc/passwd')).toBeNull();
    expect(resolveStaticPath('/srv/r', '/a%00b')).toBeNull();
    expect(resolveStaticPath('/srv/r', '/%E0%A4%A')).toBeNull();
    expect(resolveStaticPath('/srv/r', '/../r-other/x')).toBeNull();
  });

  it('allows connections only back to the shell itself', () => {
    const csp = contentSecurityPolicy(4321);
    expect(csp).toContain("connect-src 'self' ws://127.0.0.1:4321");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toMatch(/unsafe/);
  });
});
