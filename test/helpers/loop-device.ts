// Real loop devices for tests of device pools: a sparse file under a temp folder, attached with
// `losetup --find --show`, and everything the test did on it (mounts, swap) undone in cleanup(),
// which is safe to call twice and also detaches loop devices left over by an earlier run of this
// helper that died (their backing files sit in folders named ferry-loop-<pid>-*).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MiB = 1024 * 1024;
const DIR_PREFIX = 'ferry-loop-';

export interface LoopDevice {
  /** '/dev/loopN' */
  path: string;
  /** The sparse backing file. */
  file: string;
}

export interface LoopDeviceOptions {
  sizeMiB?: number;
  /** Runs on the backing file before it is attached (e.g. write a partition table with sfdisk). */
  prepareFile?: (file: string) => void;
}

/** Why loop devices can not be used here, or undefined when they can (probed once: attach + detach). */
export function loopDevicesUnavailable(): string | undefined {
  if (!probed) probed = { reason: probe() };
  return probed.reason;
}
let probed: { reason: string | undefined } | undefined;

function probe(): string | undefined {
  if (process.platform !== 'linux') return `loop devices need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'loop devices need root (losetup, mount)';
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-probe-`));
  try {
    const file = join(dir, 'probe.img');
    writeFileSync(file, Buffer.alloc(MiB));
    const dev = run('losetup', ['--find', '--show', file]).trim();
    run('losetup', ['-d', dev]);
    return undefined;
  } catch (err) {
    return `losetup does not work here: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A set of loop devices, mounts and swaps that one test file owns; cleanup() undoes all of them. */
export class LoopLab {
  readonly dir: string;
  private readonly devices: LoopDevice[] = [];
  private readonly mounts: string[] = [];
  private readonly swaps: string[] = [];
  private readonly partitioned: string[] = [];
  private counter = 0;

  constructor() {
    detachLeftovers();
    this.dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  }

  /** Attaches a fresh sparse file of sizeMiB (default 64) as a loop device. */
  create(options: LoopDeviceOptions = {}): LoopDevice {
    const file = join(this.dir, `disk-${this.counter++}.img`);
    writeFileSync(file, '');
    run('truncate', ['-s', String((options.sizeMiB ?? 64) * MiB), file]);
    options.prepareFile?.(file);
    return this.attach(file);
  }

  /** Attaches an existing file or block device (e.g. another loop device) as a loop device. */
  attach(file: string): LoopDevice {
    const path = run('losetup', ['--find', '--show', file]).trim();
    const device = { path, file };
    this.devices.push(device);
    return device;
  }

  /**
   * Makes the kernel create partition devices (/dev/loopNpM) from the table on a loop device; loop
   * devices here are attached without partition scanning, so this is `partx --add`.
   */
  addPartitions(device: string): string[] {
    run('partx', ['--add', device]);
    this.partitioned.push(device);
    const name = device.replace('/dev/', '');
    return readdirSync('/sys/class/block')
      .filter((entry) => entry.startsWith(`${name}p`))
      .sort()
      .map((entry) => `/dev/${entry}`);
  }

  /** Mounts a device on a new folder under the lab's dir and returns the folder. */
  mount(device: string, options: string[] = []): string {
    const target = join(this.dir, `mnt-${this.counter++}`);
    mkdirSync(target);
    run('mount', [...options, device, target]);
    this.mounts.push(target);
    return target;
  }

  unmount(target: string): void {
    run('umount', [target]);
    this.mounts.splice(this.mounts.indexOf(target), 1);
  }

  swapOn(device: string): void {
    run('mkswap', ['-q', device]);
    run('swapon', [device]);
    this.swaps.push(device);
  }

  /** Undoes everything, newest first; keeps going past errors and throws the first one at the end. */
  cleanup(): void {
    const errors: unknown[] = [];
    const attempt = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        errors.push(err);
      }
    };
    for (const swap of this.swaps.splice(0).reverse()) attempt(() => run('swapoff', [swap]));
    for (const target of this.mounts.splice(0).reverse()) {
      attempt(() => {
        try {
          run('umount', [target]);
        } catch {
          run('umount', ['-l', target]); // busy: detach lazily so the loop device can go
        }
      });
    }
    for (const device of this.partitioned.splice(0).reverse())
      attempt(() => run('partx', ['--delete', device]));
    for (const device of this.devices.splice(0).reverse()) attempt(() => detach(device.path));
    attempt(() => detachLeftovers(true));
    rmSync(this.dir, { recursive: true, force: true });
    if (errors.length > 0) throw errors[0];
  }
}

/**
 * Detaches loop devices whose backing file lies in a folder of this helper: those of dead test
 * processes, and with ours=true those of this process too. Never touches anyone else's.
 */
function detachLeftovers(ours = false): void {
  let list: Array<{ name: string; 'back-file': string | null }>;
  try {
    list = JSON.parse(run('losetup', ['--list', '--json'])).loopdevices ?? [];
  } catch {
    return; // no loop devices at all, or losetup missing: nothing of ours to clean
  }
  const pattern = new RegExp(`/${DIR_PREFIX}(\\d+)-[^/]+/`);
  for (const loop of list) {
    const pid = pattern.exec(loop['back-file'] ?? '')?.[1];
    if (!pid) continue;
    if (Number(pid) === process.pid ? ours : !isAlive(Number(pid))) {
      try {
        detach(loop.name);
      } catch {
        // already gone
      }
    }
  }
}

function detach(path: string): void {
  if (!existsSync(path)) return;
  run('losetup', ['-d', path]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`${cmd} ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`);
  }
}
