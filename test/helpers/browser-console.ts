// The browser console as an admin meets it, for end-to-end tests: the real console core on a temporary
// store with its own local lab, the browser shell on 127.0.0.1 serving a freshly built renderer, and
// Debian's Chromium (playwright-core) with one page open. close() tears down whatever was started, in
// reverse order, also when the start itself failed halfway. Callers check `hasChromium` first (and
// print why they skip); see test/helpers/chromium.ts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createBridgeHandler } from '../../main/core/console/bridge-handler.js';
import { ConsoleCore } from '../../main/core/console/console-core.js';
import { openStore } from '../../main/core/store/index.js';
import { startWebShell } from '../../main/web/web-shell.js';
import { buildRenderer, collectPageProblems, launchChromium } from './chromium.js';

export interface BrowserConsoleOptions {
  /** Names the temporary folder: $TMPDIR/ferry-e2e-NAME-XXXXXX. */
  name: string;
  /** Lab appliances are PREFIX-1, PREFIX-2, ... (default 'lab'). */
  labPrefix?: string;
  /** Brings the lab up before the shell starts; without it the lab stays down (the first screen). */
  lab?: { appliances: number; poolSize: number };
}

export interface BrowserConsole {
  /** The temporary folder holding the store, the lab and the built renderer; removed by close(). */
  dir: string;
  storePath: string;
  labDir: string;
  core: ConsoleCore;
  /** The shell's http://127.0.0.1:PORT/?token=... address, as `ferry web` prints it. */
  url: string;
  browser: Browser;
  /** A 1280x800 page, not yet navigated. */
  page: Page;
  /** The page's console errors and uncaught exceptions so far (see collectPageProblems). */
  problems: string[];
  /** nbd://HOST:PORT/VOLUME on `appliance`, by default the appliance that fronts the volume. */
  nbdUrl(volume: string, appliance?: string): string;
  /** Closes the browser and the shell, destroys the lab, closes the core and store, removes `dir`. */
  close(): Promise<void>;
}

export async function startBrowserConsole(options: BrowserConsoleOptions): Promise<BrowserConsole> {
  // What has been started so far, undone last-first; every step runs even when an earlier one fails.
  const undo: Array<() => unknown> = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const errors: unknown[] = [];
      for (const step of undo.reverse()) {
        try {
          await step();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, 'browser console: teardown failed');
    })();
    return closing;
  };

  try {
    const dir = await mkdtemp(join(tmpdir(), `ferry-e2e-${options.name}-`));
    undo.push(() => rm(dir, { recursive: true, force: true }));
    const staticDir = join(dir, 'renderer');
    await buildRenderer(staticDir);

    const storePath = join(dir, 'ferry.db');
    const labDir = join(dir, 'lab');
    const store = openStore({ path: storePath });
    undo.push(() => store.close());
    const core = new ConsoleCore({ store, labDir, labPrefix: options.labPrefix });
    undo.push(() => core.close());
    // The lab's agents are detached processes: always destroy it; a lab never started is no error.
    undo.push(() => core.labDestroy().catch(() => {}));
    if (options.lab) await core.labUp(options.lab);

    const shell = await startWebShell({ handler: createBridgeHandler(core), staticDir, log: () => {} });
    undo.push(() => shell.close());
    const browser = await launchChromium();
    undo.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = collectPageProblems(page);

    const nbdUrl = (volume: string, appliance?: string): string => {
      const server = appliance
        ? core.store.appliances.require(appliance)
        : core.store.appliances.getById(core.store.volumes.require(volume).frontApplianceId!)!;
      return `nbd://${server.nbdListen}/${volume}`;
    };
    return { dir, storePath, labDir, core, url: shell.url, browser, page, problems, nbdUrl, close };
  } catch (err) {
    // The start's own error is the one worth reporting; the teardown's would only hide it.
    await close().catch(() => {});
    throw err;
  }
}
