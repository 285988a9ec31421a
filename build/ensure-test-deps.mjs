// The tests drive real peers (NBD clients, nbdkit, fio, OpenSSH, Chromium). This installs the Debian
// packages that provide them when they are missing and we are root; otherwise it names exactly what
// to install and fails, so a test never silently skips for a missing tool.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const NEEDED = [
  { tool: 'qemu-io', pkg: 'qemu-utils' },
  { tool: 'qemu-img', pkg: 'qemu-utils' },
  { tool: 'qemu-nbd', pkg: 'qemu-utils' },
  { tool: 'nbdinfo', pkg: 'libnbd-bin' },
  { tool: 'nbdcopy', pkg: 'libnbd-bin' },
  { tool: 'nbdkit', pkg: 'nbdkit' },
  { tool: 'fio', pkg: 'fio' },
  { tool: 'sshd', pkg: 'openssh-server', paths: ['/usr/sbin/sshd'] },
  { tool: 'ssh-keygen', pkg: 'openssh-client' },
  { tool: 'losetup', pkg: 'mount', paths: ['/usr/sbin/losetup', '/sbin/losetup'] },
  { tool: 'mkfs.ext4', pkg: 'e2fsprogs', paths: ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4'] },
  { tool: 'sfdisk', pkg: 'fdisk', paths: ['/usr/sbin/sfdisk', '/sbin/sfdisk'] },
  { tool: 'chromium', pkg: 'chromium', paths: ['/usr/bin/chromium'] },
];

function has({ tool, paths = [] }) {
  if (paths.some((p) => existsSync(p))) return true;
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

const missing = [...new Set(NEEDED.filter((n) => !has(n)).map((n) => n.pkg))];
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.error(`The tests need these Debian packages: ${missing.join(' ')}`);
  console.error(`Install them with: sudo apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
console.log(`installing test dependencies: ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
  stdio: 'inherit',
  env,
});
