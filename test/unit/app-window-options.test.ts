// The window's security settings, read from the function that builds them, and the hardening
// createMainWindow adds (navigation, new windows, webviews, permissions), checked on stand-ins of
// BrowserWindow and Session that record the handlers it installs.

import { EventEmitter } from 'node:events';
import type { BrowserWindow, Session } from 'electron';
import { describe, expect, it } from 'vitest';
import { APP_CONTENT_SECURITY_POLICY, APP_START_URL, appFileFor } from '../../main/app/app-protocol.js';
import { createMainWindow, denyAllPermissions, mainWindowOptions } from '../../main/app/window.js';

describe('mainWindowOptions', () => {
  it('isolates and sandboxes the renderer, with web security on and no Node', () => {
    const prefs = mainWindowOptions('/app/dist/app/preload.cjs').webPreferences;
    expect(prefs).toMatchObject({
      preload: '/app/dist/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });
});

describe('content security policy and app files', () => {
  it('allows only the app’s own scripts and styles, no inline script, no network', () => {
    const directives = Object.fromEntries(
      APP_CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]),
    );
    expect(directives['default-src']).toBe("'none'");
    expect(directives['script-src']).toBe("'self'");
    expect(directives['connect-src']).toBe("'none'");
    expect(directives['object-src']).toBe("'none'");
    expect(directives['frame-ancestors']).toBe("'none'");
    expect(APP_CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
  });

  it('serves files from the renderer folder only', () => {
    expect(appFileFor('/r', 'ferry://app/index.html')).toBe('/r/index.html');
    expect(appFileFor('/r', 'ferry://app/')).toBe('/r/index.html');
    expect(appFileFor('/r', 'ferry://app/assets/a.js')).toBe('/r/assets/a.js');
    // URL parsing resolves dot segments itself; encoded slashes must not let a path climb out.
    expect(appFileFor('/r', 'ferry://app/%2e%2e/etc/passwd')).toBe('/r/etc/passwd');
    expect(appFileFor('/r', 'ferry://app/%2F..%2F..%2Fetc/passwd')).toBeNull();
    expect(appFileFor('/r', 'ferry://other/index.html')).toBeNull();
    expect(appFileFor('/r', 'https://app/index.html')).toBeNull();
  });
});

/** Records what createMainWindow installs on the window and its webContents. */
class FakeWebContents extends EventEmitter {
  openHandler: ((details: { url: string }) => { action: string }) | null = null;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
    this.openHandler = handler;
  }
  getURL() {
    return APP_START_URL;
  }
}
class FakeWindow extends EventEmitter {
  static last: FakeWindow;
  readonly webContents = new FakeWebContents();
  loaded: string | null = null;
  constructor(readonly options: unknown) {
    super();
    FakeWindow.last = this;
  }
  loadURL(url: string) {
    this.loaded = url;
    return Promise.resolve();
  }
  show() {}
}

function preventable() {
  const event = { prevented: false, preventDefault: () => (event.prevented = true) };
  return event;
}

describe('createMainWindow', () => {
  it('loads the app page and blocks navigation, redirects, new windows and webviews', () => {
    const logged: string[] = [];
    createMainWindow(FakeWindow as unknown as typeof BrowserWindow, '/p.cjs', (m) => logged.push(m));
    const window = FakeWindow.last;
    expect(window.loaded).toBe(APP_START_URL);
    expect(window.options).toEqual(mainWindowOptions('/p.cjs'));

    const away = preventable();
    window.webContents.emit('will-navigate', away, 'https://evil.example/');
    expect(away.prevented).toBe(true);
    const reload = preventable();
    window.webContents.emit('will-navigate', reload, APP_START_URL);
    expect(reload.prevented).toBe(false);
    const redirect = preventable();
    window.webContents.emit('will-redirect', redirect, 'https://evil.example/');
    expect(redirect.prevented).toBe(true);
    const webview = preventable();
    window.webContents.emit('will-attach-webview', webview);
    expect(webview.prevented).toBe(true);
    expect(window.webContents.openHandler?.({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(logged.length).toBe(3);
  });

  it('denies every permission request and check', () => {
    const installed: Record<string, (...args: never[]) => unknown> = {};
    const session = {
      setPermissionRequestHandler: (h: never) => (installed.request = h),
      setPermissionCheckHandler: (h: never) => (installed.check = h),
      setDevicePermissionHandler: (h: never) => (installed.device = h),
    };
    denyAllPermissions(session as unknown as Session);
    const answers: boolean[] = [];
    for (const permission of ['media', 'notifications', 'clipboard-read', 'geolocation', 'openExternal']) {
      (installed.request as (c: unknown, p: string, cb: (ok: boolean) => void) => void)(
        {},
        permission,
        (ok) => answers.push(ok),
      );
    }
    expect(answers).toEqual([false, false, false, false, false]);
    expect((installed.check as () => boolean)()).toBe(false);
    expect((installed.device as () => boolean)()).toBe(false);
  });
});
