// `ferry web` as a function: start the shell over a core's BridgeHandler, print the URL (and open it
// when this machine has a browser), serve until Ctrl-C or the signal, then close. The CLI command is a
// thin wrapper that builds the core, calls this, and closes the core.

import type { BridgeHandler } from '../../shared/bridge/index.js';
import { openBrowser } from './open-browser.js';
import { findRendererDir } from './renderer-dir.js';
import { startWebShell, type WebShell } from './web-shell.js';

export interface RunWebShellOptions {
  handler: BridgeHandler;
  port?: number;
  staticDir?: string;
  /** Try to open the desktop's browser (default true). */
  open?: boolean;
  /** Where the URL and notes go (the CLI's stdout). */
  write: (line: string) => void;
  /** Stops the shell; SIGINT and SIGTERM do too. */
  signal?: AbortSignal;
  /** Called once listening, e.g. by tests that need the URL. */
  onListening?: (shell: WebShell) => void;
}

export async function runWebShell(options: RunWebShellOptions): Promise<void> {
  const shell = await startWebShell({
    handler: options.handler,
    port: options.port,
    staticDir: options.staticDir ?? findRendererDir(),
  });
  options.write(`Ferry is served at ${shell.url}`);
  options.write('Open that URL (it carries the access token) in a browser on this machine. Ctrl-C stops.');
  if (options.open !== false && openBrowser(shell.url)) options.write('Opened it in your browser.');
  options.onListening?.(shell);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
  await shell.close();
}
