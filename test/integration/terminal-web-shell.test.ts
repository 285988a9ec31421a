// The terminal panes through the browser shell, end to end with the real console core: Chromium opens
// the built renderer from `ferry web`'s server, the admin opens a local shell (node-pty) and an
// appliance's shell (a real sshd, host key pinned in the store), types `echo hi` and sees `hi` on its
// own line; a paste reaches the shell; no CSP violation is reported (xterm.js's styles go through constructed stylesheets).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridgeHandler } from '../../main/core/console/bridge-handler.js';
import { ConsoleCore } from '../../main/core/console/console-core.js';
import { openStore, type Store } from '../../main/core/store/index.js';
import { startWebShell, type WebShell } from '../../main/web/web-shell.js';
import {
  buildRenderer,
  CHROMIUM,
  collectPageProblems,
  hasChromium,
  launchChromium,
  screenshot,
} from '../helpers/chromium.js';
import { type SshdFixture, startSshd } from '../helpers/sshd-fixture.js';

if (!hasChromium)
  console.warn(`terminal-web-shell: skipped, ${CHROMIUM} is missing (apt-get install chromium)`);

/** The rows xterm.js shows in a pane, as text. */
async function screenRows(page: Page, pane: string): Promise<string[]> {
  return page
    .locator(`[aria-label="Terminal ${pane}"] .xterm-rows > div`)
    .evaluateAll((rows) => rows.map((row) => (row.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()));
}

async function waitForRow(page: Page, pane: string, text: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let rows: string[] = [];
  while (Date.now() < deadline) {
    rows = await screenRows(page, pane);
    if (rows.includes(text)) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`terminal ${pane} never showed a row "${text}"; it shows:\n${rows.join('\n')}`);
}

describe.skipIf(!hasChromium)('terminal panes in the browser shell', () => {
  let dir: string;
  let rendererDir: string;
  let store: Store;
  let core: ConsoleCore;
  let shell: WebShell;
  let browser: Browser;
  let sshd: SshdFixture;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-terminal-web-'));
    rendererDir = join(dir, 'renderer');
    sshd = await startSshd({ host: '127.0.0.14' });
    store = openStore({ path: join(dir, 'ferry.db') });
    store.appliances.add({
      name: 'box-1',
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      auth: { kind: 'key', identityFile: sshd.userKeyPath },
      agentDir: join(sshd.dir, 'agent'),
      nbdListen: `${sshd.host}:10809`,
    });
    store.appliances.pinHostKey('box-1', sshd.hostKeyFingerprint(), 'ssh-ed25519');
    core = new ConsoleCore({ store, labDir: join(dir, 'lab') });
    await buildRenderer(rendererDir);
    shell = await startWebShell({
      handler: createBridgeHandler(core),
      staticDir: rendererDir,
      log: () => {},
    });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await shell?.close();
    await core?.close();
    store?.close();
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('opens a local shell: echo hi shows hi; an appliance shell over SSH: echo hi shows hi', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = collectPageProblems(page);
    await page.goto(shell.url);

    await page.getByRole('button', { name: '+ Local shell' }).click();
    const local = page.locator('[aria-label="Terminal Local shell"][data-status="open"]');
    await local.waitFor({ timeout: 15_000 });
    await local.locator('.xterm').click();
    await page.keyboard.type('echo hi');
    await page.keyboard.press('Enter');
    await waitForRow(page, 'Local shell', 'hi');
    // Paste: the browser's paste event carries the text to the shell (bash holds a bracketed paste
    // until Enter). The command line reads `echo pas""ted`, so only its output is the row `pasted`.
    await local.locator('textarea').evaluate((textarea) => {
      const data = new DataTransfer();
      data.setData('text/plain', 'echo pas""ted');
      textarea.dispatchEvent(
        new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
      );
    });
    await page.keyboard.press('Enter');
    await waitForRow(page, 'Local shell', 'pasted');

    await page
      .getByRole('article', { name: 'Appliance box-1' })
      .getByRole('button', { name: 'Terminal' })
      .click();
    const remote = page.locator('[aria-label="Terminal box-1"][data-status="open"]');
    await remote.waitFor({ timeout: 20_000 });
    await remote.locator('.xterm').click();
    await page.keyboard.type('echo hi');
    await page.keyboard.press('Enter');
    await waitForRow(page, 'box-1', 'hi');
    await screenshot(page, 'web-terminal-appliance');

    // Closing the tab ends the shell in the core.
    expect(core.terminals.service.count).toBe(2);
    await page.getByRole('button', { name: 'Close terminal box-1' }).click();
    await expect.poll(() => core.terminals.service.count, { timeout: 5000 }).toBe(1);
    expect(problems.filter((p) => /Content Security Policy|Refused/i.test(p))).toEqual([]);
    await page.close();
  }, 90_000);
});
