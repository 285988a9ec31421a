// End to end in the desktop app itself: playwright-core's _electron launches dist/app/main.mjs on a
// temporary store and user-data folder, the admin starts the lab from the first screen, creates a
// volume, drags it onto another appliance's pool, confirms, and sees the move finish. Needs the Electron
// runtime, which npm downloads at install time: without it (this machine has no internet) the test is
// skipped and says why.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ConsoleCore } from '../../main/core/console/console-core.js';
import { openStore } from '../../main/core/store/index.js';
import { buildRenderer, screenshot } from '../helpers/chromium.js';

const ROOT = process.cwd();
const SKIP_REASON = 'skipped: the Electron runtime is not installed (its download needs the internet)';

/** The Electron binary when `require('electron')` yields a path that exists; null otherwise. */
function electronBinary(): string | null {
  try {
    const path: unknown = createRequire(import.meta.url)('electron');
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

const electronPath = electronBinary();
if (!electronPath) console.warn(`electron-lab-move: ${SKIP_REASON}`);
const title = 'starts the lab, drags a volume to another pool and sees the move finish';

describe('e2e: the Electron app over its own core and lab', () => {
  let dir: string | undefined;
  let app: ElectronApplication | undefined;

  afterAll(async () => {
    await app?.close().catch(() => {});
    if (!dir) return;
    // The lab's agents outlive the app by design (moves go on); stop them and remove the lab.
    const core = new ConsoleCore({
      store: openStore({ path: join(dir, 'ferry.db') }),
      labDir: join(dir, 'lab'),
    });
    await core.labDestroy().catch(() => {});
    await core.close();
    core.store.close();
    await rm(dir, { recursive: true, force: true });
  });

  (electronPath ? it : it.skip)(
    electronPath ? title : `${title} (${SKIP_REASON})`,
    async () => {
      if (!electronPath) return;
      dir = await mkdtemp(join(tmpdir(), 'ferry-e2e-electron-'));
      if (!existsSync(join(ROOT, 'dist', 'ferry-agent.mjs'))) {
        execFileSync(process.execPath, [join(ROOT, 'build', 'build-agent.mjs')]);
      }
      await buildRenderer(join(ROOT, 'dist', 'renderer'));
      execFileSync(process.execPath, [join(ROOT, 'build', 'build-app.mjs')]);

      app = await _electron.launch({
        executablePath: electronPath,
        args: [join(ROOT, 'dist', 'app', 'main.mjs'), `--store=${join(dir, 'ferry.db')}`],
        env: { ...process.env, FERRY_USER_DATA: join(dir, 'user-data'), ELECTRON_ENABLE_LOGGING: '1' },
        timeout: 60_000,
      });
      const page: Page = await app.firstWindow();
      const pool = (name: string) => page.locator(`[aria-label="Pool ${name}"]`);

      // The window is the app's own page, locked down: no Node in the page, only window.ferry.
      expect(page.url()).toBe('ferry://app/index.html');
      expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe(
        'undefined',
      );
      expect(
        await page.evaluate(() => Object.keys((globalThis as { ferry?: object }).ferry ?? {}).sort()),
      ).toEqual(['call', 'onEvent', 'terminal']);

      await page.getByRole('button', { name: 'Start the local lab' }).click({ timeout: 60_000 });
      await pool('lab-1/pool').waitFor({ timeout: 90_000 });
      await pool('lab-2/pool').waitFor();

      await page.getByRole('button', { name: 'New volume…' }).click();
      const create = page.getByRole('dialog', { name: 'New volume' });
      await create.getByLabel('Name').fill('app-vol');
      await create.getByLabel('Size').fill('32M');
      await create.getByLabel('Pool').selectOption('lab-1/pool');
      await create.getByRole('button', { name: 'Create' }).click();
      const row = page.getByRole('row', { name: /^app-vol, .* on lab-1\/pool/ });
      await row.waitFor({ timeout: 30_000 });

      await row.dragTo(pool('lab-2/pool'));
      const dialog = page.getByRole('dialog', { name: 'Move app-vol' });
      await page.waitForFunction(
        () => !document.querySelector('dialog button.primary')?.hasAttribute('disabled'),
        undefined,
        { timeout: 30_000 },
      );
      await dialog.getByRole('button', { name: 'Move', exact: true }).click();
      await page.getByRole('progressbar', { name: 'Move of app-vol' }).waitFor();
      await page.waitForFunction(
        () => document.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow') === '100',
        undefined,
        { timeout: 120_000 },
      );
      await page.getByRole('row', { name: /^app-vol, .* on lab-2\/pool/ }).waitFor({ timeout: 30_000 });
      await screenshot(page, 'electron-move-done');
    },
    300_000,
  );
});
