// Opens the control link to the agent of an SSH appliance of the store: one SSH connection per
// appliance, kept and reused (it re-dials by itself); the agent's socket reached through the
// stream-local forward; the agent deployed first when it does not answer (or always, or never).
// This is the `SshLinkOpener` the console's ApplianceLinks takes.
import { FerryError, toFerryError } from '../../../shared/errors.js';
import { connectRemoteAgent } from '../agent-link/connect.js';
import type { AgentLink } from '../agent-link/rpc-link.js';
import { type ApplianceConnectOptions, connectAppliance } from '../ssh/appliance-connection.js';
import type { SshConnection } from '../ssh/connection.js';
import type { Appliance } from '../store/repo-appliances.js';
import type { Store } from '../store/store.js';
import { agentPaths } from './agent-process.js';
import { type ApplianceDeployOptions, deployToAppliance } from './deploy-appliance.js';

export interface SshAgentOpenerOptions {
  /** 'if-needed' (default): deploy when the agent does not answer. */
  deploy?: 'always' | 'if-needed' | 'never';
  /** Per-appliance SSH options (secrets callbacks, host key acceptance). */
  connect?: (appliance: Appliance) => ApplianceConnectOptions;
  deployOptions?: ApplianceDeployOptions;
}

export interface SshAgentOpener {
  open(appliance: Appliance): Promise<AgentLink>;
  /** The kept SSH connection of an appliance (for exec, SFTP, a terminal). */
  connection(appliance: Appliance): Promise<SshConnection>;
  /** Closes every kept SSH connection (idempotent). */
  closeAll(): Promise<void>;
}

export function createSshAgentOpener(store: Store, options: SshAgentOpenerOptions = {}): SshAgentOpener {
  const connections = new Map<string, Promise<SshConnection>>();
  const mode = options.deploy ?? 'if-needed';

  const connection = (appliance: Appliance): Promise<SshConnection> => {
    const kept = connections.get(appliance.name);
    if (kept) return kept;
    const opening = connectAppliance(store, appliance.name, options.connect?.(appliance) ?? {});
    connections.set(appliance.name, opening);
    opening.then(
      (ssh) =>
        ssh.on('state', (state: string) => {
          if (state === 'closed' && connections.get(appliance.name) === opening)
            connections.delete(appliance.name);
        }),
      () => {
        if (connections.get(appliance.name) === opening) connections.delete(appliance.name);
      },
    );
    return opening;
  };

  const link = (ssh: SshConnection, appliance: Appliance) =>
    connectRemoteAgent(ssh, agentPaths(appliance.agentDir).controlSocket, {
      label: `the agent on ${appliance.name}`,
    });

  return {
    connection,
    async open(appliance) {
      if (appliance.transport !== 'ssh') {
        throw new FerryError('ERR_INVALID_ARGUMENT', `appliance ${appliance.name} is not reached by SSH`);
      }
      const ssh = await connection(appliance);
      if (mode === 'always') await deployToAppliance(store, ssh, appliance.name, options.deployOptions);
      try {
        return await link(ssh, appliance);
      } catch (err) {
        if (mode !== 'if-needed' || toFerryError(err).code !== 'ERR_UNREACHABLE') throw err;
      }
      await deployToAppliance(store, ssh, appliance.name, options.deployOptions);
      return link(ssh, appliance);
    },
    async closeAll() {
      const all = [...connections.values()];
      connections.clear();
      await Promise.all(all.map((p) => p.then((ssh) => ssh.close()).catch(() => undefined)));
    },
  };
}
