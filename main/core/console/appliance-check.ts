// `check` of one appliance: can the console log in, does its agent answer, which version, how fast.
// It never deploys or starts anything, so it reports the appliance as it is.
import { FerryError, toFerryError } from '../../../shared/errors.js';
import { agentInfo } from '../../../shared/rpc/info.js';
import { type AgentLink, connectLocalAgent, connectRemoteAgent } from '../agent-link/index.js';
import { agentPaths } from '../deploy/agent-process.js';
import { localAgentPaths } from '../lab/local-agent.js';
import type { SshConnection } from '../ssh/connection.js';
import type { Appliance } from '../store/repo-appliances.js';

export interface ApplianceCheck {
  appliance: string;
  /** SSH login works (local appliances: always true). */
  reachable: boolean;
  agentRunning: boolean;
  agentVersion: string | null;
  /** Round trip of the agent's `info` call, through the SSH forward for SSH appliances. */
  latencyMs: number | null;
  message: string;
  error: { code: string; message: string; details?: Record<string, unknown> } | null;
}

export async function checkAppliance(
  appliance: Appliance,
  connectSsh: () => Promise<SshConnection>,
): Promise<ApplianceCheck> {
  const { name } = appliance;
  const result: ApplianceCheck = {
    appliance: name,
    reachable: false,
    agentRunning: false,
    agentVersion: null,
    latencyMs: null,
    message: '',
    error: null,
  };
  let link: AgentLink | undefined;
  try {
    if (appliance.transport === 'local') {
      result.reachable = true;
      link = await connectLocalAgent(localAgentPaths(appliance.agentDir).control, {
        label: `appliance ${name}`,
        connectTimeoutMs: 5000,
      });
    } else {
      const ssh = await connectSsh();
      // A kept connection may be re-dialling: log in now, not just earlier.
      await ssh.run('true', { timeoutMs: 15_000 });
      result.reachable = true;
      link = await connectRemoteAgent(ssh, agentPaths(appliance.agentDir).controlSocket, {
        label: `the agent on ${name}`,
      }).catch((err) => {
        if (ssh.state !== 'ready') throw err;
        throw new FerryError(
          'ERR_UNREACHABLE',
          `${name} answers SSH but its agent is not running (${toFerryError(err).message}); the next command that needs it starts it again`,
        );
      });
    }
    const started = performance.now();
    const info = await link.call(agentInfo, {}, { timeoutMs: 10_000 });
    result.latencyMs = Math.round((performance.now() - started) * 10) / 10;
    result.agentRunning = true;
    result.agentVersion = info.version;
    result.message = `${name} is reachable; agent ${info.version} (pid ${info.pid}) answered in ${result.latencyMs} ms`;
  } catch (err) {
    const error = toFerryError(err);
    result.error = { code: error.code, message: error.message, details: error.details };
    result.message = error.message;
  } finally {
    link?.close();
  }
  return result;
}
