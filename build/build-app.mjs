// Bundles the Electron app's three entries into dist/app/: main.mjs (main process, ESM), preload.cjs
// (the sandboxed preload must be one CommonJS file that requires only 'electron') and core-process.mjs
// (the console core's utility process). npm packages stay external except in the preload: the app ships
// node_modules (better-sqlite3 and node-pty are native and rebuilt for Electron by electron-builder).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = join(root, 'dist', 'app');
const common = { bundle: true, platform: 'node', target: 'node22', logLevel: 'warning', sourcemap: true };

await Promise.all([
  build({
    ...common,
    entryPoints: [join(root, 'main', 'app', 'main.ts')],
    outfile: join(out, 'main.mjs'),
    format: 'esm',
    packages: 'external',
  }),
  build({
    ...common,
    entryPoints: [join(root, 'main', 'app', 'core-process-main.ts')],
    outfile: join(out, 'core-process.mjs'),
    format: 'esm',
    packages: 'external',
    define: { FERRY_CONSOLE_VERSION: JSON.stringify(version) },
  }),
  build({
    ...common,
    entryPoints: [join(root, 'main', 'app', 'preload.ts')],
    outfile: join(out, 'preload.cjs'),
    format: 'cjs',
    platform: 'browser',
    external: ['electron'],
  }),
]);
console.log(`built dist/app (main.mjs, preload.cjs, core-process.mjs) for Ferry ${version}`);
