// Where the built renderer is: beside the bundled CLI (dist/ferry.mjs -> dist/renderer) or, when run
// from source, in the checkout's dist/renderer. Missing: a clear error saying how to build it.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../shared/errors.js';

export function rendererDirCandidates(from = dirname(fileURLToPath(import.meta.url))): string[] {
  return [join(from, 'renderer'), resolve(from, '..', '..', 'dist', 'renderer')];
}

export function findRendererDir(candidates = rendererDirCandidates()): string {
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) {
    throw new FerryError(
      'ERR_NOT_FOUND',
      `the browser UI is not built (looked in ${candidates.join(', ')}): run npm run build:renderer`,
    );
  }
  return found;
}
