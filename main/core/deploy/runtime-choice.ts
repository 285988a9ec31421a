// Which Node runs the agent on an appliance: `auto` takes the appliance's own node when it is >= 18,
// else the runtime Ferry ships for its architecture; `system` and `bundled` force one or the other.
// A bundled runtime is uploaded once into AGENT_DIR/runtime/<version>-<arch>/node.
import { FerryError } from '../../../shared/errors.js';
import type { SshConnection } from '../ssh/connection.js';
import { shellQuote } from '../ssh/shell-quote.js';
import type { ApplianceProbe } from './agent-process.js';
import { findLocalRuntime, runtimeArchFor, sha256File } from './local-artifacts.js';
import { uploadVerified } from './upload.js';

export type RuntimeChoice = 'auto' | 'system' | 'bundled';
export const MIN_SYSTEM_NODE_MAJOR = 18;

export interface ChosenRuntime {
  kind: 'system' | 'bundled';
  /** The node executable on the appliance, as the agent is launched with it. */
  path: string;
  /** The same with symlinks resolved (what /proc/PID/exe shows). */
  realPath: string;
  version: string;
  /** A bundled runtime uploaded by this deploy (false when it was already there). */
  uploaded: boolean;
}

/** Where a bundled runtime lives on the appliance. */
export function bundledRuntimePath(agentDir: string, version: string, arch: string): string {
  return `${agentDir}/runtime/${version}-${arch}/node`;
}

function systemUsable(probe: ApplianceProbe): boolean {
  const major = Number(probe.nodeVersion?.split('.')[0]);
  return probe.nodePath !== undefined && Number.isInteger(major) && major >= MIN_SYSTEM_NODE_MAJOR;
}

export interface ChooseRuntimeOptions {
  runtimeSearchDirs?: string[];
  /** What a survey already found: remote path -> exists, and remote path -> real path. */
  present?: Map<string, boolean>;
  realPaths?: Map<string, string>;
}

export async function chooseRuntime(
  ssh: SshConnection,
  probe: ApplianceProbe,
  choice: RuntimeChoice,
  agentDir: string,
  options: ChooseRuntimeOptions = {},
): Promise<ChosenRuntime> {
  if (choice !== 'bundled' && systemUsable(probe)) {
    const path = probe.nodePath!;
    return { kind: 'system', path, realPath: path, version: probe.nodeVersion!, uploaded: false };
  }
  if (choice === 'system') {
    throw new FerryError(
      'ERR_UNSUPPORTED',
      probe.nodePath
        ? `node on ${ssh.target.host} is ${probe.nodeVersion ?? 'of unknown version'}, the agent needs >= ${MIN_SYSTEM_NODE_MAJOR}: ` +
            'upgrade it, or use --runtime bundled (or auto)'
        : `${ssh.target.host} has no node on its PATH: install Node >= ${MIN_SYSTEM_NODE_MAJOR}, or use --runtime bundled (or auto)`,
    );
  }
  const arch = runtimeArchFor(probe.machine);
  const local = findLocalRuntime(arch, options.runtimeSearchDirs);
  const remote = bundledRuntimePath(agentDir, local.version, arch);
  const present =
    options.present?.get(remote) ?? (await ssh.exec(`test -x ${shellQuote(remote)}`)).code === 0;
  if (present) {
    // It was checked by hash and run once when uploaded.
    return {
      kind: 'bundled',
      path: remote,
      realPath: options.realPaths?.get(remote) ?? remote,
      version: local.version,
      uploaded: false,
    };
  }
  const dir = remote.slice(0, remote.lastIndexOf('/'));
  await ssh.run(`mkdir -p ${shellQuote(dir)}`);
  await uploadVerified(ssh, local.path, remote, { mode: 0o755, sha256: await sha256File(local.path) });
  // Proves the binary runs there (an appliance whose C library is too old fails here, clearly).
  const ran = await ssh.exec(`${shellQuote(remote)} --version; readlink -f ${shellQuote(remote)}`, {
    timeoutMs: 60_000,
  });
  const [versionLine, realPath] = ran.stdout.trim().split('\n');
  const version = (versionLine ?? '').trim().replace(/^v/, '');
  if (ran.code !== 0 || version !== local.version) {
    throw new FerryError(
      'ERR_UNSUPPORTED',
      `the Node runtime uploaded to ${remote} does not run on ${ssh.target.host} ` +
        `(${ran.stderr.trim().slice(0, 300) || `it reports ${version}`}): install Node >= ${MIN_SYSTEM_NODE_MAJOR} there and use --runtime system`,
    );
  }
  return { kind: 'bundled', path: remote, realPath: realPath || remote, version, uploaded: true };
}
