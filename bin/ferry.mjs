#!/usr/bin/env node
// Launcher for the `ferry` console CLI; builds the bundles first when a checkout has not been built.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'ferry.mjs');
if (!existsSync(bundle) || !existsSync(join(root, 'dist', 'ferry-agent.mjs'))) {
  await import(pathToFileURL(join(root, 'build', 'build-agent.mjs')).href);
  await import(pathToFileURL(join(root, 'build', 'build-console.mjs')).href);
}
await import(pathToFileURL(bundle).href);
