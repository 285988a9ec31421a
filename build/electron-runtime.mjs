// Where the Electron runtime is, if it is installed: `require('electron')` returns the binary's path
// when its download succeeded and throws otherwise (the npm package alone has no binary). Shared by
// `npm run dist`, `npm start` and the Electron end-to-end test.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** { path } of the Electron binary, or { missing: why } when it is not installed. */
export function electronRuntime() {
  let path;
  try {
    path = require('electron');
  } catch (err) {
    return { missing: `the electron package did not install its runtime (${err.message.split('\n')[0]})` };
  }
  if (typeof path !== 'string' || !existsSync(path)) {
    return { missing: `the Electron runtime is not at ${path}` };
  }
  return { path };
}

export const NO_RUNTIME_ADVICE =
  'The Electron runtime is a separate download from the internet. ' +
  'On a machine with internet access run: node node_modules/electron/install.js (Ferry does not let npm run it by default), then retry.';
