#!/usr/bin/env node
// Launcher for the agent bundle; builds it first when a checkout has not been built yet.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'ferry-agent.mjs');
if (!existsSync(bundle)) await import(pathToFileURL(join(root, 'build', 'build-agent.mjs')).href);
await import(pathToFileURL(bundle).href);
