// The browser shell's transport: the token guards every request and WebSocket upgrade, responses carry
// the CSP, calls are validated before the core sees them, and the core's events reach the renderer.
// The core here is `recordingHandler`, a stand-in for this transport test only.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startWebShell, type WebShell } from '../../main/web/web-shell.js';
import type { BridgeEvent, BridgeEventListener, BridgeHandler } from '../../shared/bridge/index.js';
import { FerryError } from '../../shared/errors.js';

const NOW = '2026-11-25T13:00:00.000Z';

/** Records each call that reaches it and lets the test push events; answers a few methods. */
function recordingHandler() {
  const calls: Array<{ method: string; params: unknown }> = [];
  const listeners = new Set<BridgeEventListener>();
  const handler: BridgeHandler = {
    async call(method, params) {
      calls.push({ method, params });
      if (method === 'lab.status') return { state: 'absent', appliances: [], dir: null } as never;
      if (method === 'appliance.remove')
        throw new FerryError('ERR_NOT_FOUND', 'no appliance "x": see the list');
      return { version: 'test', storePath: '/tmp/store' } as never;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const emit = (event: unknown) => {
    for (const l of listeners) l(event as BridgeEvent);
  };
  return { handler, calls, listeners, emit };
}

interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** Sends raw text and waits for the next message that is not an event. */
function exchange(ws: WebSocket, text: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(data.toString());
      if (message.kind === 'event') return;
      ws.off('message', onMessage);
      resolve(message);
    };
    ws.on('message', onMessage);
    ws.send(text);
  });
}

function nextEvent(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(data.toString());
      if (message.kind !== 'event') return;
      ws.off('message', onMessage);
      resolve(message);
    };
    ws.on('message', onMessage);
  });
}

describe('web shell', () => {
  let dir: string;
  let shell: WebShell;
  let core: ReturnType<typeof recordingHandler>;
  let token: string;
  let wsUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-web-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(
      join(dir, 'index.html'),
      '<!doctype html><title>Ferry</title><script type="module" src="/assets/app.js"></script>',
    );
    await writeFile(join(dir, 'assets', 'app.js'), 'console.log("ferry")');
    await writeFile(join(tmpdir(), 'ferry-web-secret.txt'), 'secret');
    core = recordingHandler();
    shell = await startWebShell({ handler: core.handler, staticDir: dir, log: () => {} });
    token = new URL(shell.url).searchParams.get('token') ?? '';
    wsUrl = `ws://127.0.0.1:${shell.port}/bridge?token=${token}`;
  });

  afterAll(async () => {
    await shell?.close();
    await shell?.close(); // teardown is safe to call twice
    await rm(dir, { recursive: true, force: true });
    await rm(join(tmpdir(), 'ferry-web-secret.txt'), { force: true });
  });

  it('prints a loopback URL with a 32-byte token', () => {
    expect(shell.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  });

  it('refuses requests without the right token', async () => {
    const none = await get(shell.port, '/');
    expect(none.status).toBe(401);
    expect(none.body).toMatch(/needs its access token/);
    expect((await get(shell.port, `/?token=${token.slice(0, -1)}x`)).status).toBe(401);
    expect((await get(shell.port, '/assets/app.js')).status).toBe(401);
  });

  it('serves the page with the token, with a strict CSP, and sets a cookie for its assets', async () => {
    const page = await get(shell.port, `/?token=${token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Ferry</title>');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${shell.port}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const cookie = String(page.headers['set-cookie']).split(';')[0];
    expect(cookie).toBe(`ferry_token_${shell.port}=${token}`);
    const asset = await get(shell.port, '/assets/app.js', { cookie });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect(asset.headers['content-security-policy']).toBeDefined();
  });

  it('refuses another Host header and paths that leave the renderer folder', async () => {
    expect((await get(shell.port, `/?token=${token}`, { host: `evil.example:${shell.port}` })).status).toBe(
      421,
    );
    const outside = await get(shell.port, `/..%2fferry-web-secret.txt?token=${token}`);
    expect(outside.status).toBe(404);
    expect(outside.body).not.toContain('secret');
  });

  it('refuses a WebSocket without the token or from another origin', async () => {
    await expect(connect(`ws://127.0.0.1:${shell.port}/bridge`)).rejects.toThrow(/refused 401/);
    await expect(connect(wsUrl, { origin: 'http://evil.example' })).rejects.toThrow(/refused 403/);
    const ws = await connect(wsUrl, { origin: `http://127.0.0.1:${shell.port}` });
    ws.close();
  });

  it('answers a valid call with the result and refuses invalid params naming the field', async () => {
    const ws = await connect(wsUrl);
    try {
      const before = core.calls.length;
      const ok = await exchange(ws, JSON.stringify({ kind: 'call', id: 1, method: 'lab.status' }));
      expect(ok).toEqual({ kind: 'result', id: 1, result: { state: 'absent', appliances: [], dir: null } });

      const bad = await exchange(
        ws,
        JSON.stringify({
          kind: 'call',
          id: 2,
          method: 'move.start',
          params: { volume: 'v1', to: { appliance: 'b' } },
        }),
      );
      expect(bad).toMatchObject({ kind: 'error', id: 2, error: { code: 'ERR_INVALID_ARGUMENT' } });
      expect((bad.error as { message: string }).message).toMatch(/to\.pool/);
      expect(core.calls.length).toBe(before + 1);

      const notJson = await exchange(ws, '{oops');
      expect(notJson).toMatchObject({ kind: 'error', id: null, error: { code: 'ERR_PROTOCOL' } });
      const noMethod = await exchange(ws, JSON.stringify({ kind: 'call', id: 3, method: 'shell.exec' }));
      expect(noMethod).toMatchObject({ kind: 'error', id: 3, error: { code: 'ERR_INVALID_ARGUMENT' } });
      expect(core.calls.length).toBe(before + 1);

      const refused = await exchange(
        ws,
        JSON.stringify({ kind: 'call', id: 4, method: 'appliance.remove', params: { name: 'x' } }),
      );
      expect(refused).toEqual({
        kind: 'error',
        id: 4,
        error: { code: 'ERR_NOT_FOUND', message: 'no appliance "x": see the list' },
      });
    } finally {
      ws.close();
    }
  });

  it('pushes the core events, drops those that break the contract, and unsubscribes on close', async () => {
    const ws = await connect(wsUrl);
    await exchange(ws, JSON.stringify({ kind: 'call', id: 1, method: 'lab.status' }));
    const status = {
      type: 'appliance.status',
      payload: { appliance: 'a', status: 'online', message: null, lastSeen: NOW, latencyMs: 1.5 },
    };
    const received = nextEvent(ws);
    core.emit({ type: 'appliance.status', payload: { appliance: 'a', status: 'on fire' } });
    core.emit(status);
    expect(await received).toEqual({ kind: 'event', event: status });
    const subscribers = core.listeners.size;
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(core.listeners.size).toBe(subscribers - 1);
  });
});
