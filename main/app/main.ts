// The Electron main process, kept thin: one instance, one locked-down window on the app's own origin,
// the console core in a utility process, every IPC call through the guard, a menu, and a notification
// when a move or plan ends. Everything the console does happens in the core (main/core/).

import { join } from 'node:path';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  MessageChannelMain,
  Notification,
  protocol,
  safeStorage,
  session,
  utilityProcess,
} from 'electron';
import { APP_DATA_NAME, STORE_FILE_NAME } from '../core/store/store-path.js';
import { APP_ORIGIN, APP_SCHEME, appResponse } from './app-protocol.js';
import { CoreHost } from './core-host.js';
import { CALL_CHANNEL } from './ipc-channels.js';
import { checkBridgeCall, type IpcMainLike, validatedIpcMain } from './ipc-guard.js';
import { applicationMenuTemplate } from './menu.js';
import { createEndNotifier } from './notifications.js';
import { SecretVault } from './secrets.js';
import { createMainWindow, denyAllPermissions } from './window.js';

const log = (message: string) => process.stderr.write(`ferry app: ${message}\n`);
/** dist/app, where this bundle and its siblings (preload.cjs, core-process.mjs) are. */
const here = import.meta.dirname;

protocol.registerSchemesAsPrivileged([
  {
    scheme: APP_SCHEME,
    privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true },
  },
]);
// userData is <appData>/Ferry, set explicitly (not left to the package name): the folder the CLI uses
// by default (main/core/store/store-path.ts). Tests may point it elsewhere with FERRY_USER_DATA.
app.setName(APP_DATA_NAME);
app.setPath('userData', process.env.FERRY_USER_DATA || join(app.getPath('appData'), APP_DATA_NAME));
app.enableSandbox();

/** --store=PATH, then FERRY_STORE, then <userData>/ferry.db (the CLI's default too). */
function storePath(): string {
  const flag = process.argv.find((arg) => arg.startsWith('--store='));
  if (flag) return flag.slice('--store='.length);
  if (process.env.FERRY_STORE) return process.env.FERRY_STORE;
  return join(app.getPath('userData'), STORE_FILE_NAME);
}

async function start(): Promise<void> {
  protocol.handle(APP_SCHEME, (request) => appResponse(join(here, '..', 'renderer'), request.url));
  denyAllPermissions(session.defaultSession);

  const store = storePath();
  let host: CoreHost;
  try {
    host = await CoreHost.start(
      { entry: join(here, 'core-process.mjs'), config: { storePath: store } },
      { fork: utilityProcess.fork, MessageChannelMain },
    );
  } catch (err) {
    dialog.showErrorBox('Ferry could not start', `${(err as Error).message}\n\nCatalog: ${store}`);
    app.exit(1);
    return;
  }

  const windows = new Set<number>();
  const guard = validatedIpcMain(
    ipcMain as unknown as IpcMainLike,
    { origin: APP_ORIGIN, isAppWebContents: (id) => windows.has(id) },
    log,
  );
  guard.handle(CALL_CHANNEL, async (_event, method, params) => {
    const call = checkBridgeCall(method, params);
    return call.valid ? host.call(call.method, call.params) : call.refusal;
  });

  const window = createMainWindow(BrowserWindow, join(here, 'preload.cjs'), log);
  const contentsId = window.webContents.id;
  windows.add(contentsId);
  window.webContents.on('did-finish-load', () => host.attachWindow(window.webContents));
  window.on('closed', () => windows.delete(contentsId));

  const vault = new SecretVault(join(app.getPath('userData'), 'secrets.json'), safeStorage);
  const secrets = vault.status;
  if (!secrets.canSave) log(secrets.reason);
  const info = (message: string) => void dialog.showMessageBox(window, { type: 'info', message });
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      applicationMenuTemplate({
        showStoreLocation: () => info(`Ferry's catalog is ${store}`),
        showSecretStorage: () => {
          const status = vault.status;
          info(
            status.canSave
              ? 'Passwords you ask Ferry to remember are encrypted by your system keyring.'
              : status.reason,
          );
        },
      }),
    ),
  );

  const notice = createEndNotifier();
  host.onEvent((event) => {
    const n = notice(event);
    if (n && Notification.isSupported()) new Notification(n).show();
  });

  host.on('crash', (reason) => {
    dialog.showErrorBox(
      'Ferry stopped',
      `${reason}. Moves in progress go on on the appliances; restart Ferry to follow them.`,
    );
    app.exit(1);
  });

  let stopped = false;
  app.on('before-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    guard.dispose();
    host.stop().finally(() => {
      stopped = true;
      app.quit();
    });
  });
}

if (!app.requestSingleInstanceLock()) {
  // Another Ferry is running: it gets focus (below, in that instance) and this one leaves.
  app.quit();
} else {
  app.on('second-instance', () => {
    const [window] = BrowserWindow.getAllWindows();
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('window-all-closed', () => app.quit());
  app.whenReady().then(start, (err: Error) => {
    log(`could not start: ${err.message}`);
    app.exit(1);
  });
}
