// Bundles the `ferry` CLI (console core + CLI shell) into dist/ferry.mjs. npm packages stay external:
// they are installed with the console (better-sqlite3 is native and cannot be bundled).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

await build({
  entryPoints: [join(root, 'main', 'cli', 'ferry.ts')],
  outfile: join(root, 'dist', 'ferry.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  define: { FERRY_CONSOLE_VERSION: JSON.stringify(version) },
  logLevel: 'warning',
});
