// Agent deployment to appliances over SSH: upload by hash, runtime choice, detached start, upgrade.
export {
  type AgentPaths,
  type ApplianceProbe,
  agentPaths,
  findRunningAgent,
  probeAppliance,
  type RunningAgent,
  type StartSpec,
  type StopOptions,
  type Survey,
  startAgent,
  stopAgent,
  surveyAppliance,
} from './agent-process.js';
export {
  createSshAgentOpener,
  type SshAgentOpener,
  type SshAgentOpenerOptions,
} from './appliance-agent-opener.js';
export { type DeployOptions, type DeployResult, type DeployStep, deployAgent } from './deploy.js';
export { type ApplianceDeployOptions, deployToAppliance } from './deploy-appliance.js';
export {
  BUNDLED_RUNTIME_VERSION,
  defaultBundlePath,
  findLocalRuntime,
  type LocalRuntime,
  projectRoot,
  runtimeArchFor,
  sha256File,
} from './local-artifacts.js';
export {
  bundledRuntimePath,
  type ChooseRuntimeOptions,
  type ChosenRuntime,
  chooseRuntime,
  MIN_SYSTEM_NODE_MAJOR,
  type RuntimeChoice,
} from './runtime-choice.js';
export { type UploadOptions, type UploadResult, uploadVerified } from './upload.js';
