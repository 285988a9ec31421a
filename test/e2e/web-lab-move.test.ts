// End to end, as an admin would do it: the real console core and a real local lab behind the browser
// shell, driven in Debian's Chromium. Start the lab from the first screen, create a volume, write it
// through NBD, drag it onto another appliance's pool, confirm, watch the progressbar reach 100 and the
// row show its new place; the data verifies afterwards through NBD. Then plan mode with the lab down:
// two steps, capacity shown, plan saved; lab up, Run plan, both steps done. Screenshots in artifacts/.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridgeHandler } from '../../main/core/console/bridge-handler.js';
import { moveList } from '../../shared/rpc/moves.js';
import { type BrowserConsole, startBrowserConsole } from '../helpers/browser-console.js';
import { CHROMIUM, hasChromium, screenshot } from '../helpers/chromium.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

if (!hasChromium) console.warn(`e2e web: skipped, ${CHROMIUM} is missing (apt-get install chromium)`);

describe.skipIf(!hasChromium)('e2e: the browser shell over the real core and lab', () => {
  let web: BrowserConsole;
  let page: BrowserConsole['page'];
  let core: BrowserConsole['core'];

  const nbdUrl = (appliance: string, volume: string) => web.nbdUrl(volume, appliance);
  const pool = (name: string) => page.locator(`[aria-label="Pool ${name}"]`);

  beforeAll(async () => {
    web = await startBrowserConsole({ name: 'web' });
    ({ page, core } = web);
  });

  afterAll(async () => {
    await web?.close();
  });

  it('starts the lab from the first screen, moves a volume by drag and drop, and the data verifies', async () => {
    await page.goto(web.url);
    await page.getByRole('button', { name: 'Start the local lab' }).waitFor();
    await screenshot(page, 'e2e-first-run');
    await page.getByRole('button', { name: 'Start the local lab' }).click();
    await pool('lab-1/pool').waitFor({ timeout: 60_000 });
    await pool('lab-2/pool').waitFor();

    await page.getByRole('button', { name: 'New volume…' }).click();
    const create = page.getByRole('dialog', { name: 'New volume' });
    await create.getByLabel('Name').fill('e2e-vol');
    await create.getByLabel('Size').fill('64M');
    await create.getByLabel('Pool').selectOption('lab-1/pool');
    await create.getByRole('button', { name: 'Create' }).click();
    const row = page.getByRole('row', { name: /^e2e-vol, .* on lab-1\/pool/ });
    await row.waitFor();

    await run('qemu-io', [
      '-f',
      'raw',
      '-c',
      'write -P 0xab 0 16M',
      '-c',
      'write -P 0x5c 48M 16M',
      nbdUrl('lab-1', 'e2e-vol'),
    ]);

    await row.dragTo(pool('lab-2/pool'));
    const dialog = page.getByRole('dialog', { name: 'Move e2e-vol' });
    const moveButton = dialog.getByRole('button', { name: 'Move', exact: true });
    await page.waitForFunction(
      () => !document.querySelector('dialog button.primary')?.hasAttribute('disabled'),
      undefined,
      { timeout: 30_000 },
    );
    // Throttled so the move lasts a few seconds and a host write lands while it copies; not hosts
    // first, so that write does not slow the copy further.
    await dialog.getByLabel('Throttle').fill('16M');
    const hostsFirst = dialog.getByRole('checkbox', { name: /^Hosts first/ });
    expect(await hostsFirst.isChecked()).toBe(true); // the default
    await hostsFirst.uncheck();
    await screenshot(page, 'e2e-move-dialog');
    await moveButton.click();
    await page.getByRole('progressbar', { name: 'Move of e2e-vol' }).waitFor();
    await page.getByRole('row', { name: /^e2e-vol, .*, moving$/ }).waitFor();
    const onAgent = await (await core.links.get('lab-1')).call(moveList, {});
    expect(onAgent.moves.map((m) => m.options.busyThrottle)).toEqual([null]);
    await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x77 32M 8M', nbdUrl('lab-1', 'e2e-vol')]);
    await screenshot(page, 'e2e-move-progress');
    await page.waitForFunction(
      () => document.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow') === '100',
      undefined,
      { timeout: 90_000 },
    );
    await page.getByRole('row', { name: /^e2e-vol, .* on lab-2\/pool/ }).waitFor({ timeout: 30_000 });
    await page.waitForTimeout(400); // let the bar's transition finish for the screenshot
    await screenshot(page, 'e2e-move-done');

    // The host-visible export is the same vv name; its bytes must have survived the move.
    const front = core.store.volumes.require('e2e-vol');
    const frontName = core.store.appliances.getById(front.frontApplianceId!)!.name;
    const check = await run('qemu-io', [
      '-f',
      'raw',
      '-c',
      'read -P 0xab 0 16M',
      '-c',
      'read -P 0 16M 16M',
      '-c',
      'read -P 0x77 32M 8M',
      '-c',
      'read -P 0 40M 8M',
      '-c',
      'read -P 0x5c 48M 16M',
      nbdUrl(frontName, 'e2e-vol'),
    ]);
    expect(check.stdout).not.toMatch(/Pattern verification failed/);

    // The history shows both mapping epochs, from the keyboard.
    await page.getByRole('row', { name: /^e2e-vol,/ }).focus();
    await page.keyboard.press('h');
    const history = page.getByRole('dialog', { name: 'History of e2e-vol' });
    await history.getByRole('cell', { name: 'lab-2/pool' }).waitFor();
    await history.getByRole('cell', { name: 'lab-1/pool' }).waitFor();
    await screenshot(page, 'e2e-history');
    await page.keyboard.press('Escape');
    expect(web.problems.join('\n')).toBe('');
  });

  it('pauses, resumes and aborts a move from its card; the volume stays where it was', async () => {
    await core.createVolume({ name: 'ctl-vol', size: 64 * MiB, on: { appliance: 'lab-2', pool: 'pool' } });
    await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x42 0 64M', nbdUrl('lab-2', 'ctl-vol')]);
    await page.reload();
    await page.getByRole('row', { name: /^ctl-vol,/ }).dragTo(pool('lab-3/pool'));
    const dialog = page.getByRole('dialog', { name: 'Move ctl-vol' });
    await page.waitForFunction(
      () => !document.querySelector('dialog button.primary')?.hasAttribute('disabled'),
      undefined,
      {
        timeout: 30_000,
      },
    );
    await dialog.getByLabel('Throttle').fill('4M');
    await dialog.getByRole('button', { name: 'Move', exact: true }).click();
    const card = page.getByRole('article', { name: 'Move of ctl-vol' });
    await card.getByRole('button', { name: 'Pause' }).click();
    await card.getByText('paused').waitFor();
    await card.getByRole('button', { name: 'Resume' }).click();
    await card.getByRole('button', { name: 'Pause' }).waitFor();
    await card.getByRole('button', { name: 'Abort' }).click();
    await card.getByText('aborted', { exact: true }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'e2e-move-aborted');
    await page
      .getByRole('row', { name: /^ctl-vol, .* on lab-2\/pool, .*ready$/ })
      .waitFor({ timeout: 30_000 });
    const check = await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0x42 0 64M', nbdUrl('lab-2', 'ctl-vol')]);
    expect(check.stdout).not.toMatch(/Pattern verification failed/);
    await card.getByRole('button', { name: 'Dismiss' }).click();
    expect(web.problems.join('\n')).toBe('');
  });

  it('plans two steps with the lab down, then runs them with the lab up', async () => {
    for (const name of ['plan-a', 'plan-b']) {
      await core.createVolume({ name, size: 32 * MiB, on: { appliance: 'lab-1', pool: 'pool' } });
    }
    await page.reload();
    await page.getByRole('row', { name: /^plan-b,/ }).waitFor();
    await page.getByRole('button', { name: 'Stop lab' }).click();
    await page.getByText('offline', { exact: false }).first().waitFor({ timeout: 30_000 });

    await page.getByRole('switch', { name: 'Plan mode' }).click();
    await page.getByRole('row', { name: /^plan-a,/ }).dragTo(pool('lab-2/pool'));
    await page.getByRole('listitem', { name: /^Step \d: plan-a to lab-2\/pool/ }).waitFor();
    await page.getByRole('row', { name: /^plan-b,/ }).dragTo(pool('lab-3/pool'));
    await page.getByRole('listitem', { name: /^Step \d: plan-b to lab-3\/pool/ }).waitFor();
    await page
      .getByRole('table', { name: /capacity/i })
      .or(page.getByText('Capacity'))
      .first()
      .waitFor();
    await screenshot(page, 'e2e-plan-offline');
    const saved = await createBridgeHandler(core).call('plan.list', {});
    expect(saved.map((p) => p.steps)).toEqual([2]);

    await page.getByRole('button', { name: 'Start lab' }).click();
    await page.getByRole('button', { name: 'Stop lab' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Run plan' }).click();
    await page.getByRole('row', { name: /^plan-a, .* on lab-2\/pool/ }).waitFor({ timeout: 120_000 });
    await page.getByRole('row', { name: /^plan-b, .* on lab-3\/pool/ }).waitFor({ timeout: 120_000 });
    for (const step of [/^Step \d: plan-a to lab-2\/pool/, /^Step \d: plan-b to lab-3\/pool/]) {
      await page
        .getByRole('listitem', { name: step })
        .getByText('done', { exact: true })
        .waitFor({ timeout: 30_000 });
    }
    await screenshot(page, 'e2e-plan-done');
    expect(web.problems.join('\n')).toBe('');
  });
});
