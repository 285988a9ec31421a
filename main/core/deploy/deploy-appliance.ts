// Deploys to an appliance recorded in the store: its agent dir, NBD address and runtime choice come
// from the store, and the outcome (status, agent version) and the deploy itself are recorded there.
import { toFerryError } from '../../../shared/errors.js';
import type { SshConnection } from '../ssh/connection.js';
import type { Store } from '../store/store.js';
import { type DeployOptions, type DeployResult, deployAgent } from './deploy.js';

export type ApplianceDeployOptions = Omit<DeployOptions, 'agentDir' | 'nbdListen' | 'runtime'> &
  Partial<Pick<DeployOptions, 'runtime'>>;

export async function deployToAppliance(
  store: Store,
  ssh: SshConnection,
  name: string,
  options: ApplianceDeployOptions = {},
): Promise<DeployResult> {
  const appliance = store.appliances.require(name);
  try {
    const result = await deployAgent(ssh, {
      ...options,
      agentDir: appliance.agentDir,
      nbdListen: appliance.nbdListen,
      runtime: options.runtime ?? appliance.runtime,
    });
    store.transaction(() => {
      store.appliances.setStatus(name, 'online', { agentVersion: result.version, detail: null });
      if (result.started || result.bundleUploaded || result.runtime.uploaded) {
        store.audit.record('agent.deploy', name, {
          sha256: result.sha256,
          version: result.version,
          runtime: result.runtime.kind,
          runtimeVersion: result.runtime.version,
          started: result.started,
          replaced: result.replaced ?? null,
          pid: result.pid,
        });
      }
    });
    return result;
  } catch (err) {
    const error = toFerryError(err);
    store.appliances.setStatus(name, error.code === 'ERR_UNREACHABLE' ? 'offline' : 'error', {
      detail: `deploy failed: ${error.code}: ${error.message}`,
    });
    throw error;
  }
}
