// The built renderer in Debian's Chromium, through the browser shell: the first screen renders, the
// accessibility contract holds (rows named by volume, pool drop targets, progressbar), a drag and the
// keyboard path both start a move whose progress reaches 100, plan mode adds steps, and no CSP
// violation is reported. The core is `scriptedStandInCore` (test/helpers/bridge-stand-in.ts); the
// end-to-end tests against the real core and lab live in test/e2e/.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebShell, type WebShell } from '../../main/web/web-shell.js';
import { type StandInCore, scriptedStandInCore } from '../helpers/bridge-stand-in.js';
import {
  buildRenderer,
  CHROMIUM,
  collectPageProblems,
  hasChromium,
  launchChromium,
  screenshot,
} from '../helpers/chromium.js';

if (!hasChromium) console.warn(`web-renderer: skipped, ${CHROMIUM} is missing (apt-get install chromium)`);

describe.skipIf(!hasChromium)('renderer in Chromium through the web shell', () => {
  let dir: string;
  let browser: Browser;
  const shells: WebShell[] = [];
  const cores: StandInCore[] = [];

  async function open(core: StandInCore, colorScheme: 'light' | 'dark' = 'light') {
    cores.push(core);
    const shell = await startWebShell({ handler: core.handler, staticDir: dir, log: () => {} });
    shells.push(shell);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme });
    const problems = collectPageProblems(page);
    await page.goto(shell.url);
    return { page, problems };
  }

  const shot = (page: Page, name: string) => screenshot(page, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-renderer-'));
    await buildRenderer(dir);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    for (const shell of shells) await shell.close();
    for (const core of cores) core.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renders 10,000 volumes virtualized, with named rows and pool drop targets', async () => {
    const { page, problems } = await open(scriptedStandInCore({ volumes: 10_000 }));
    const first = page.getByRole('row', { name: /^vol-00001,/ });
    await first.waitFor();
    expect(await page.getByRole('heading', { name: 'Ferry' }).count()).toBe(1);
    expect(await page.locator('[role="row"][data-row-index]').count()).toBeLessThan(100);
    expect(await page.locator('[aria-label="Pool lab-1/pool"]').count()).toBe(1);
    expect(await page.locator('[aria-label="Pool lab-2/pool"]').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Add appliance…' }).count()).toBe(1);
    await shot(page, 'web-first-screen');

    // Smoothness: scroll through the 10,000 rows, 10 rows a frame, and time the frames.
    const frames = await page.evaluate(async () => {
      const list = document.querySelector('[role="rowgroup"]') as HTMLElement;
      const times: number[] = [];
      let last = performance.now();
      for (let i = 0; i < 120; i++) {
        list.scrollTop += 360;
        await new Promise(requestAnimationFrame);
        const now = performance.now();
        times.push(now - last);
        last = now;
      }
      times.sort((a, b) => a - b);
      const mean = times.reduce((a, b) => a + b, 0) / times.length;
      return {
        mean,
        p95: times[Math.floor(times.length * 0.95)],
        rendered: document.querySelectorAll('[data-row-index]').length,
      };
    });
    console.log(
      `volume table, 10,000 rows: ${frames.mean.toFixed(1)} ms mean frame, ${frames.p95.toFixed(1)} ms p95, ${frames.rendered} rows in the DOM`,
    );
    // Loose on purpose: the machine is shared and Chromium renders in software here; a table that
    // rendered every row would take seconds per frame.
    expect(frames.mean).toBeLessThan(150);
    expect(frames.rendered).toBeLessThan(100);

    await page.getByLabel('Filter volumes').fill('vol-0999');
    await page.getByRole('row', { name: /^vol-09990,/ }).waitFor();
    expect(await page.getByText('10 of 10,000').count()).toBe(1);
    await page.getByLabel('Filter volumes').fill('');
    await page.getByRole('button', { name: /^Size/ }).click();
    await page.getByRole('button', { name: /^Size/ }).click();
    expect(await page.locator('[role="columnheader"][aria-sort="descending"]').count()).toBe(1);
    expect(problems.join('\n')).toBe('');
    await page.close();
  });

  it('drags a volume onto a pool, confirms, and shows the move reach 100%', async () => {
    const { page, problems } = await open(scriptedStandInCore({ volumes: 200 }));
    const row = page.getByRole('row', { name: /^vol-00001,/ });
    await row.waitFor();
    await row.dragTo(page.locator('[aria-label="Pool lab-2/pool"]'));
    const dialog = page.getByRole('dialog', { name: 'Move vol-00001' });
    await dialog.getByText('lab-2/pool has room for vol-00001').waitFor();
    await shot(page, 'web-move-dialog');
    await dialog.getByRole('button', { name: 'Move', exact: true }).click();
    const progress = page.getByRole('progressbar', { name: 'Move of vol-00001' });
    await progress.waitFor();
    // Progress updates (4 a second) must not touch the volume table: count its DOM mutations meanwhile.
    await page.evaluate(() => {
      const table = document.querySelector('[role="table"]');
      const counter = { mutations: 0 };
      Object.assign(window, { ferryTableMutations: counter });
      new MutationObserver((records) => {
        counter.mutations += records.length;
      }).observe(table as Node, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.waitForFunction(() => {
      const bar = document.querySelector('[role="progressbar"]');
      return Number(bar?.getAttribute('aria-valuenow')) >= 40;
    });
    await shot(page, 'web-move-progress');
    const tableMutations = await page.evaluate(
      () =>
        (window as unknown as { ferryTableMutations: { mutations: number } }).ferryTableMutations.mutations,
    );
    expect(tableMutations).toBe(0);
    await page.waitForFunction(
      () => document.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow') === '100',
      undefined,
      { timeout: 15_000 },
    );
    await page.getByRole('row', { name: /^vol-00001, .* on lab-2\/pool/ }).waitFor();
    await page.getByRole('status').getByText('vol-00001 now lives on lab-2/pool.').waitFor();
    await shot(page, 'web-move-done');
    expect(problems.join('\n')).toBe('');
    await page.close();
  });

  it('offers the same move from the keyboard: focus a row, press M, choose the pool', async () => {
    const { page } = await open(scriptedStandInCore({ volumes: 50 }));
    const row = page.getByRole('row', { name: /^vol-00003,/ });
    await row.focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toMatch(
      /^vol-00004,/,
    );
    await page.keyboard.press('m');
    const chooser = page.getByRole('dialog', { name: 'Move vol-00004 to…' });
    await chooser.getByRole('radio', { name: /lab-1\/pool/ }).check();
    await chooser.getByRole('button', { name: 'Continue' }).click();
    const dialog = page.getByRole('dialog', { name: 'Move vol-00004' });
    await dialog.getByRole('button', { name: 'Move', exact: true }).waitFor();
    await page.waitForFunction(
      () => !document.querySelector('dialog button.primary')?.hasAttribute('disabled'),
    );
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.close();
  });

  it('shows refusals where the action was taken: an offline target, a name already taken', async () => {
    const { page } = await open(scriptedStandInCore({ volumes: 20 }));
    await page
      .getByRole('row', { name: /^vol-00001,/ })
      .dragTo(page.locator('[aria-label="Pool lab-3/pool"]'));
    const dialog = page.getByRole('dialog', { name: 'Move vol-00001' });
    await dialog.getByText('lab-3 is offline: start it, or pick another pool').waitFor();
    expect(await dialog.getByRole('button', { name: 'Move', exact: true }).isDisabled()).toBe(true);
    await shot(page, 'web-move-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: 'Add appliance…' }).click();
    const add = page.getByRole('dialog', { name: 'Add an appliance' });
    await add.getByLabel('Name').fill('lab-1');
    await add.getByLabel('Host').fill('10.0.0.5');
    await add.getByRole('button', { name: 'Connect' }).click();
    await add.getByText('SHA256:u3yJ0V0m9r5r0bqQ2P8X3mM1Yt8c9kq7Zr8dI5m2b1A').waitFor();
    await add.getByRole('button', { name: 'Accept key and add' }).click();
    await add
      .getByRole('alert')
      .getByText(/an appliance named "lab-1" exists: choose another name/i)
      .waitFor();
    await shot(page, 'web-add-appliance');
    await add.getByLabel('Name').fill('nas-1');
    await add.getByRole('button', { name: 'Accept key and add' }).click();
    const nas = page.getByRole('article', { name: 'Appliance nas-1' });
    await nas.getByText('No pools yet.').waitFor();
    await nas.getByRole('button', { name: 'Check' }).click();
    await nas.getByRole('status').getByText('Reachable · agent 0.1.0 · 2 ms').waitFor();
    await nas.getByRole('button', { name: 'Add pool…' }).click();
    const addPool = page.getByRole('dialog', { name: 'Add a pool to nas-1' });
    await addPool.getByLabel('Name').fill('fast');
    await addPool.getByLabel('Folder on the appliance').fill('/srv/ferry');
    await addPool.getByLabel('Capacity (optional)').fill('2T');
    await addPool.getByRole('button', { name: 'Add pool' }).click();
    await page.locator('[aria-label="Pool nas-1/fast"]').getByText('2.0T free of 2.0T').waitFor();

    await page.getByRole('row', { name: /^vol-00002,/ }).focus();
    await page.keyboard.press('h');
    await page.getByRole('dialog', { name: 'History of vol-00002' }).getByText('volume.create').waitFor();
    await shot(page, 'web-history');
    await page.close();
  });

  it('keeps working after a reload without the token (cookie) and says so when the shell stops', async () => {
    const core = scriptedStandInCore({ volumes: 5 });
    const { page, problems } = await open(core);
    await page.getByRole('row', { name: /^vol-00001,/ }).waitFor();
    const origin = new URL(page.url()).origin;
    await page.goto(`${origin}/`);
    await page.getByRole('row', { name: /^vol-00001,/ }).waitFor();
    expect(await page.getByRole('status').filter({ hasText: 'Connected' }).count()).toBe(1);
    expect(problems.join('\n')).toBe('');
    const shell = shells[shells.length - 1];
    await shell.close();
    await page.getByText(/Disconnected from the console, retrying/).waitFor();
    await page.close();
  });

  it('adds plan steps by dragging in plan mode', async () => {
    const { page, problems } = await open(scriptedStandInCore({ volumes: 50 }));
    await page.getByRole('switch', { name: 'Plan mode' }).click();
    await page
      .getByRole('row', { name: /^vol-00001,/ })
      .dragTo(page.locator('[aria-label="Pool lab-3/pool"]'));
    await page.getByRole('listitem', { name: 'Step 1: vol-00001 to lab-3/pool' }).waitFor();
    await page
      .getByRole('row', { name: /^vol-00002,/ })
      .dragTo(page.locator('[aria-label="Pool lab-3/pool"]'));
    await page.getByRole('listitem', { name: 'Step 2: vol-00002 to lab-3/pool' }).waitFor();
    // The keyboard path in plan mode: M on a row, pick the pool, Add to plan.
    await page.getByRole('row', { name: /^vol-00003,/ }).focus();
    await page.keyboard.press('m');
    const chooser = page.getByRole('dialog', { name: 'Plan a move of vol-00003 to…' });
    await chooser.getByRole('radio', { name: /lab-2\/pool/ }).check();
    await chooser.getByRole('button', { name: 'Add to plan' }).click();
    await page.getByRole('listitem', { name: 'Step 3: vol-00003 to lab-2/pool' }).waitFor();
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Run plan' }).isEnabled()).toBe(true);
    await shot(page, 'web-plan-mode');
    await page.getByRole('button', { name: 'Run plan' }).click();
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[aria-label="Step 1 progress"]')?.getAttribute('aria-valuenow')) >= 30,
    );
    await shot(page, 'web-plan-running');
    await page.getByRole('status').getByText('Plan plan-1 done.').waitFor({ timeout: 30_000 });
    await page.getByRole('row', { name: /^vol-00003, .* on lab-2\/pool/ }).waitFor();
    expect(problems.join('\n')).toBe('');
    await page.close();
  });

  it('offers the local lab on an empty store, and looks right in a dark theme', async () => {
    const { page, problems } = await open(scriptedStandInCore({ empty: true }), 'dark');
    await page.getByRole('button', { name: 'Start the local lab' }).waitFor();
    await shot(page, 'web-first-run-dark');
    await page.getByRole('button', { name: 'Start the local lab' }).click();
    await page.locator('[aria-label="Pool lab-1/pool"]').waitFor();
    await shot(page, 'web-lab-started-dark');
    expect(problems.join('\n')).toBe('');
    await page.close();
  });
});
