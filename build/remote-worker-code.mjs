// Bundles the copy worker (agent/backend/remote-worker-main.ts) into one CommonJS script, returned as
// text: the agent bundle embeds it and starts its workers from it (Worker with eval), so the agent
// stays one file and a worker loads only what it runs.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildRemoteWorkerCode() {
  const result = await build({
    entryPoints: [join(root, 'agent', 'backend', 'remote-worker-main.ts')],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    legalComments: 'none',
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}
