// A console core on a temporary store with its own local lab, for tests that drive moves through the
// console: always destroys the lab (its agents are detached processes) and removes the folder.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConsoleCore } from '../../main/core/console/console-core.js';
import { openStore } from '../../main/core/store/index.js';
import { REPO_ROOT } from './agent-bundle.js';

export const run = promisify(execFile);

export interface ConsoleLab {
  dir: string;
  storePath: string;
  core: ConsoleCore;
  /** nbd://HOST:PORT/VOLUME of the appliance that serves a volume. */
  volumeUrl(volume: string): string;
  /** Runs the `ferry` CLI on this lab's store. */
  ferry(
    args: string[],
    opts?: { timeoutMs?: number },
  ): Promise<{ stdout: string; stderr: string; code: number }>;
  destroy(): Promise<void>;
}

export async function startConsoleLab(
  options: { appliances?: number; poolSize?: number } = {},
): Promise<ConsoleLab> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-console-lab-'));
  const storePath = join(dir, 'ferry.db');
  const core = new ConsoleCore({
    store: openStore({ path: storePath, actor: 'test' }),
    labDir: join(dir, 'lab'),
  });
  const lab: ConsoleLab = {
    dir,
    storePath,
    core,
    volumeUrl(volume) {
      const v = core.store.volumes.require(volume);
      const front = core.store.appliances.getById(v.frontApplianceId!)!;
      return `nbd://${front.nbdListen}/${volume}`;
    },
    async ferry(args, opts = {}) {
      try {
        const { stdout, stderr } = await run(
          process.execPath,
          [join(REPO_ROOT, 'bin', 'ferry.mjs'), ...args, '--store', storePath],
          {
            timeout: opts.timeoutMs ?? 120_000,
            env: { ...process.env, FERRY_LOG: 'quiet' },
          },
        );
        return { stdout, stderr, code: 0 };
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; code?: number };
        return {
          stdout: e.stdout ?? '',
          stderr: e.stderr ?? '',
          code: typeof e.code === 'number' ? e.code : 1,
        };
      }
    },
    async destroy() {
      try {
        await core.labDestroy();
      } finally {
        core.close();
        core.store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await core.labUp({ appliances: options.appliances ?? 2, poolSize: options.poolSize ?? 1024 ** 3 });
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}

export async function qemuIo(
  url: string,
  commands: string[],
  opts: { readOnly?: boolean } = {},
): Promise<string> {
  const args = ['-f', 'raw', ...(opts.readOnly ? ['-r'] : [])];
  for (const c of commands) args.push('-c', c);
  args.push(url);
  const { stdout } = await run('qemu-io', args, { timeout: 60_000 });
  if (/fail|error|Pattern verification failed/i.test(stdout)) throw new Error(`qemu-io: ${stdout}`);
  return stdout;
}
