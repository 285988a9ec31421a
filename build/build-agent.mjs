// Bundles the agent into one ESM file with no runtime dependency beyond Node >= 18: the file the
// console uploads to appliances. Fails if anything native or non-builtin would be left external.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildRemoteWorkerCode } from './remote-worker-code.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'ferry-agent.mjs');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

await build({
  entryPoints: [join(root, 'agent', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  sourcemap: false,
  legalComments: 'none',
  define: {
    FERRY_AGENT_VERSION: JSON.stringify(version),
    FERRY_REMOTE_WORKER_CODE: JSON.stringify(await buildRemoteWorkerCode()),
  },
  banner: {
    // A bundled CommonJS dependency may still call require(); give it Node's.
    js: "import { createRequire as __ferryCreateRequire } from 'node:module'; const require = __ferryCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

const hash = createHash('sha256').update(readFileSync(outfile)).digest('hex');
writeFileSync(join(root, 'dist', 'ferry-agent.sha256'), `${hash}\n`);
