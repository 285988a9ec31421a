// `ferry web` as the admin runs it: the printed URL carries the token, the page and the bridge answer
// with it and refuse without it, and Ctrl-C (SIGINT) stops the shell cleanly.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

describe('ferry web', () => {
  let dir: string;
  let child: ChildProcess;
  let url: URL;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-web-cli-'));
    child = spawn(
      process.execPath,
      ['bin/ferry.mjs', 'web', '--no-open', '--port', '0', '--store', join(dir, 'ferry.db')],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } },
    );
    child.stderr?.resume();
    const lines = createInterface({ input: child.stdout! });
    url = await new Promise<URL>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('ferry web printed no URL within 60 s')), 60_000);
      lines.on('line', (line) => {
        const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(new URL(m[1]));
        }
      });
      child.once('exit', (code) => reject(new Error(`ferry web exited early with ${code}`)));
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the UI with the printed token and refuses without it', async () => {
    expect(url.searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await fetch(`${url.origin}/`)).status).toBe(401);
  });

  it('answers bridge calls from the real core on an empty store', async () => {
    const ws = new WebSocket(`ws://${url.host}/bridge?token=${url.searchParams.get('token')}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const reply = await new Promise<Record<string, unknown>>((resolve) => {
      ws.on('message', (data) => {
        const message = JSON.parse(data.toString());
        if (message.kind !== 'event') resolve(message);
      });
      ws.send(JSON.stringify({ kind: 'call', id: 1, method: 'inventory.get' }));
    });
    ws.close();
    expect(reply).toMatchObject({ kind: 'result', id: 1, result: { appliances: [], volumes: [] } });
  });

  it('stops on SIGINT with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
