// Where the store lives by default: the user's data folder exactly as Electron's
// app.getPath('userData') resolves it for an app named "Ferry", so the CLI, the browser shell and the
// desktop app share one catalog. FERRY_STORE or an explicit path overrides it.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const APP_DATA_NAME = 'Ferry';
export const STORE_FILE_NAME = 'ferry.db';

export interface PathEnvironment {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

/** Electron's `appData` folder for this platform. */
export function appDataDir({
  env = process.env,
  platform = process.platform,
  home = homedir(),
}: PathEnvironment = {}) {
  if (platform === 'win32')
    return env.APPDATA && env.APPDATA !== '' ? env.APPDATA : join(home, 'AppData', 'Roaming');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support');
  return env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(home, '.config');
}

/** The Ferry data folder (Electron's userData): also the parent of the demo lab. */
export function ferryDataDir(penv: PathEnvironment = {}): string {
  return join(appDataDir(penv), APP_DATA_NAME);
}

/** explicit path > FERRY_STORE > <userData>/ferry.db */
export function resolveStorePath(explicit?: string, penv: PathEnvironment = {}): string {
  if (explicit && explicit !== '') return resolve(explicit);
  const fromEnv = (penv.env ?? process.env).FERRY_STORE;
  if (fromEnv && fromEnv !== '') return resolve(fromEnv);
  return join(ferryDataDir(penv), STORE_FILE_NAME);
}
