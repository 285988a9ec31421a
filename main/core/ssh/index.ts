// SSH to appliances: connections with pinned host keys, exec, SFTP, UNIX-socket forwarding.
export { type ApplianceConnectOptions, authForAppliance, connectAppliance } from './appliance-connection.js';
export { resolveAuth, type SecretSource, type SshAuth } from './auth.js';
export {
  type ExecOptions,
  type ExecResult,
  type ReconnectPolicy,
  SshConnection,
  type SshConnectOptions,
  type SshState,
} from './connection.js';
export {
  describeHostKey,
  fingerprintOf,
  type HostKeyInfo,
  type HostKeyTrust,
  keyTypeOf,
  verifyHostKey,
} from './host-key.js';
export { shellCommand, shellQuote } from './shell-quote.js';
