// Entry of the console core's Electron utilityProcess (bundled to dist/app/core-process.mjs): waits for
// the 'start' message with its config and control port, opens the store, builds the core and serves it.
// SSH, SQLite and node-pty run here, so they never block the main process or a window.

import type {} from 'electron';
import { createBridgeHandler } from '../core/console/bridge-handler.js';
import { ConsoleCore } from '../core/console/console-core.js';
import { openStore } from '../core/store/index.js';
import { fatalMessage, serveCoreOnPort } from './core-process.js';
import type { CorePort, ParentToCore } from './core-protocol.js';

// The lab starts its agents with process.execPath, which here is Electron's binary: this makes those
// children run as plain Node (they inherit the environment). It does not change this process.
process.env.ELECTRON_RUN_AS_NODE = '1';

/** A native module built for Node rather than Electron fails with NODE_MODULE_VERSION: say what to do. */
function withAdvice(err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (!/NODE_MODULE_VERSION|was compiled against a different Node\.js version/.test(message)) return err;
  return new Error(
    `${message.split('\n')[0]} -- the native modules are built for Node, not Electron: run npx electron-builder install-app-deps (and npm rebuild to go back to Node for the CLI and tests)`,
  );
}

process.parentPort.once('message', (message) => {
  const data = message.data as ParentToCore;
  const control = message.ports[0] as unknown as CorePort | undefined;
  if (data?.kind !== 'start' || !control) {
    process.parentPort.postMessage({
      kind: 'fatal',
      error: { code: 'ERR_PROTOCOL', message: 'no start message' },
    });
    process.exit(2);
  }
  try {
    const store = openStore({ path: data.config.storePath });
    const core = new ConsoleCore({ store, labDir: data.config.labDir });
    serveCoreOnPort(
      control,
      {
        handler: createBridgeHandler(core),
        close: async () => {
          await core.close();
          store.close();
        },
      },
      () => process.exit(0),
    );
  } catch (err) {
    control.postMessage(fatalMessage(withAdvice(err)));
    // Let the message leave before exiting.
    setTimeout(() => process.exit(1), 200);
  }
});
