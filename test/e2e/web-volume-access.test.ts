// End to end, as an admin would do it: the real console core and a one-appliance local lab behind the
// browser shell, driven in Debian's Chromium. Open a volume's access rules from the keyboard, make it
// read-only for 127.0.0.1/32 only, save; qemu-io then reads it through NBD but cannot open it for
// writing; an invalid CIDR is refused with the agent's message in the dialog; the audit log has the
// change (store and history panel). And the Add appliance dialog with an appliance it cannot reach:
// the refusal is explained and the dialog stays, ready to retry. Screenshots in artifacts/.

import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridgeHandler } from '../../main/core/console/bridge-handler.js';
import { type BrowserConsole, startBrowserConsole } from '../helpers/browser-console.js';
import { CHROMIUM, hasChromium, screenshot } from '../helpers/chromium.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** qemu-io's output whether it succeeded or not (a refused open exits non-zero). */
async function qemuIo(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('qemu-io', args, { timeout: 30_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { code: typeof e.code === 'number' ? e.code : 1, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

if (!hasChromium) console.warn(`e2e web access: skipped, ${CHROMIUM} is missing (apt-get install chromium)`);

describe.skipIf(!hasChromium)('e2e: a volume access rules in the browser shell over the real core', () => {
  let web: BrowserConsole;
  let page: BrowserConsole['page'];
  let core: BrowserConsole['core'];

  const nbdUrl = (volume: string) => web.nbdUrl(volume);

  beforeAll(async () => {
    web = await startBrowserConsole({
      name: 'access',
      labPrefix: 'acl',
      lab: { appliances: 1, poolSize: 128 * MiB },
    });
    ({ page, core } = web);
    await core.createVolume({ name: 'acl-vol', size: 32 * MiB, on: { appliance: 'acl-1', pool: 'pool' } });
    await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x3c 0 8M', nbdUrl('acl-vol')]);
  }, 120_000);

  afterAll(async () => {
    await web?.close();
  });

  it('the Add appliance dialog explains an appliance it cannot reach and stays open to fix it', async () => {
    // A port nothing listens on: take a free one and let it go.
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    await page.goto(web.url);
    await page.getByRole('button', { name: 'Add appliance…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add an appliance' });
    await dialog.getByLabel('Name').fill('unreachable');
    await dialog.getByLabel('Host').fill('127.0.0.1');
    await dialog.getByLabel('Port').fill(String(closedPort));
    await dialog.getByLabel('User').fill('admin');
    await dialog.getByLabel('Password', { exact: true }).check();
    const connect = dialog.getByRole('button', { name: 'Connect' });
    await connect.click();
    await expect
      .poll(async () => (await dialog.getByRole('alert').textContent({ timeout: 20_000 })) ?? '', {
        timeout: 20_000,
      })
      .toMatch(/refused|ECONNREFUSED|cannot connect/i);
    expect(await connect.isEnabled()).toBe(true); // no longer busy: the admin can fix the port and retry
    await screenshot(page, 'web-add-appliance-unreachable');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('makes a volume read-only for one address; qemu-io reads, cannot write; a bad CIDR is explained', async () => {
    await page.goto(web.url);
    const row = page.getByRole('row', { name: /^acl-vol,/ });
    await row.waitFor({ timeout: 30_000 });
    await row.focus();
    await page.keyboard.press('a');
    const dialog = page.getByRole('dialog', { name: 'Access to acl-vol' });
    const allow = dialog.getByLabel('Allowed addresses');
    await allow.waitFor();
    // The agent's default for new volumes: loopback only, read-write.
    expect(await allow.inputValue()).toMatch(/127\.0\.0\.0\/8/);
    expect(await dialog.getByLabel('Read and write').isChecked()).toBe(true);
    const save = dialog.getByRole('button', { name: 'Save' });
    expect(await save.isDisabled()).toBe(true); // nothing changed yet

    await allow.fill('127.0.0.1/32');
    await dialog.getByLabel('Only read (read-only)').check();
    await save.click();
    await dialog
      .getByRole('status')
      .getByText(/Saved: allowed 127\.0\.0\.1\/32; read-only/)
      .waitFor();
    expect(await allow.inputValue()).toBe('127.0.0.1/32');
    await screenshot(page, 'e2e-access-saved');

    // Through NBD: reads still work, a write open is refused by the read-only export.
    const read = await qemuIo(['-f', 'raw', '-r', '-c', 'read -P 0x3c 0 8M', nbdUrl('acl-vol')]);
    expect(read.code, read.output).toBe(0);
    expect(read.output).not.toMatch(/Pattern verification failed/);
    const write = await qemuIo(['-f', 'raw', '-c', 'write -P 0x11 0 1M', nbdUrl('acl-vol')]);
    expect(write.code).not.toBe(0);
    expect(write.output).toMatch(/Permission denied/);

    // An invalid CIDR: refused by the agent, its message shown in the dialog; nothing changes.
    await allow.fill('127.0.0.1/32, 10.0.0.300/24');
    await save.click();
    const alert = dialog.getByRole('alert');
    await alert.getByText(/invalid address rule/i).waitFor();
    expect(await alert.textContent()).toMatch(/10\.0\.0\.300/);
    await screenshot(page, 'e2e-access-invalid');
    const rules = await createBridgeHandler(core).call('volume.access.get', { volume: 'acl-vol' });
    expect(rules).toMatchObject({ allow: ['127.0.0.1/32'], readOnly: true, denyAll: false, hostTls: 'off' });

    // The audit log has exactly the one change, in the store and in the history panel.
    const changes = core.store.audit.list({}).filter((e) => e.action === 'volume.access');
    expect(changes).toHaveLength(1);
    expect(changes[0].subject).toBe('acl-vol');
    expect(changes[0].details).toMatchObject({ change: { allow: ['127.0.0.1/32'], readOnly: true } });
    await page.keyboard.press('Escape');
    await row.focus();
    await page.keyboard.press('h');
    const history = page.getByRole('dialog', { name: 'History of acl-vol' });
    await history.getByText('volume.access', { exact: true }).waitFor();
    await screenshot(page, 'e2e-access-history');
    await page.keyboard.press('Escape');

    // The Access button opens the same panel (pointer path).
    await row.hover();
    await row.getByRole('button', { name: 'Access' }).click();
    await page.getByRole('dialog', { name: 'Access to acl-vol' }).getByLabel('Allowed addresses').waitFor();
    await page.keyboard.press('Escape');
    // The failed save is an expected 4xx-like answer, not a page error.
    expect(web.problems.filter((p) => !/invalid address rule/i.test(p)).join('\n')).toBe('');
  }, 120_000);
});
