// `npm run dist`: builds the agent, the renderer and the app bundles, then packages the desktop app
// for this platform with electron-builder. Without the Electron runtime it says so plainly and exits 1:
// electron-builder needs Electron's binaries and native-module headers for the target version.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { electronRuntime, NO_RUNTIME_ADVICE } from './electron-runtime.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const runtime = electronRuntime();
if (runtime.missing) {
  console.error(`npm run dist: cannot package Ferry here: ${runtime.missing}.`);
  console.error(NO_RUNTIME_ADVICE);
  console.error('Meanwhile `npm start` runs the browser shell (ferry web), with the same UI.');
  process.exit(1);
}

function run(command, args) {
  console.log(`> ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  if (result.status !== 0) {
    console.error(
      `npm run dist: ${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`,
    );
    process.exit(result.status ?? 1);
  }
}

run(process.execPath, [join(root, 'build', 'build-agent.mjs')]);
run('npx', ['vite', 'build', '--config', 'vite.config.ts']);
run(process.execPath, [join(root, 'build', 'build-app.mjs')]);
const platformFlag = { linux: '--linux', win32: '--win', darwin: '--mac' }[process.platform];
if (!platformFlag) {
  console.error(`npm run dist: electron-builder does not package for ${process.platform}`);
  process.exit(1);
}
run('npx', ['electron-builder', platformFlag, '--config', 'electron-builder.yml', '--publish', 'never']);
console.log('Packages are in release/.');
