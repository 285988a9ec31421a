// `npm start`: the Electron app when its runtime is installed and the app is built; otherwise says why
// and starts the browser shell (`ferry web`) instead. Builds the renderer first when it is missing.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The Electron binary, or the reason there is none. */
function electronRuntime() {
  let pkg;
  try {
    pkg = require.resolve('electron/package.json');
  } catch {
    return { reason: 'the electron package is not installed (it is optional: npm install electron)' };
  }
  const pathFile = join(dirname(pkg), 'path.txt');
  if (!existsSync(pathFile)) {
    return {
      reason:
        'the Electron runtime was never downloaded (it needs the internet; fetch it with: node node_modules/electron/install.js)',
    };
  }
  const binary = join(dirname(pkg), 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? { binary } : { reason: `the Electron runtime is missing at ${binary}` };
}

function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', cwd: root });
    // A stop sent to npm start alone (not to the terminal's whole group) must reach the shell too.
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', () => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
    });
    child.on('error', (err) => {
      console.error(`npm start: ${command}: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

if (!existsSync(join(root, 'dist', 'renderer', 'index.html'))) {
  const code = await run(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build']);
  if (code !== 0) process.exit(code);
}

const electron = electronRuntime();
const appEntry = join(root, 'dist', 'app', 'main.mjs');
const appBuilder = join(root, 'build', 'build-app.mjs');
if (electron.binary && !existsSync(appEntry) && existsSync(appBuilder)) {
  await run(process.execPath, [appBuilder]);
}
if (electron.binary && existsSync(appEntry)) {
  process.exit(await run(electron.binary, [appEntry, ...process.argv.slice(2)]));
}
const why = electron.binary ? `the desktop app is not built yet (${appEntry} is missing)` : electron.reason;
console.log(`Starting the browser shell instead of the desktop app: ${why}.`);
process.exit(await run(process.execPath, [join(root, 'bin', 'ferry.mjs'), 'web', ...process.argv.slice(2)]));
