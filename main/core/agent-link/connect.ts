// The two ways the console reaches an agent's control socket: directly (local agents of the demo
// lab) or through SSH's stream-local forwarding (appliances; no port is opened on them).
import { createConnection } from 'node:net';
import { FerryError } from '../../../shared/errors.js';
import type { SshConnection } from '../ssh/connection.js';
import { lineTransport } from './line-transport.js';
import { AgentLink, type AgentLinkOptions } from './rpc-link.js';

export function connectLocalAgent(
  socketPath: string,
  options: AgentLinkOptions & { connectTimeoutMs?: number } = {},
): Promise<AgentLink> {
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new FerryError('ERR_TIMEOUT', `no answer from the agent socket ${socketPath} within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new FerryError(
          'ERR_UNREACHABLE',
          `cannot reach the agent's control socket ${socketPath} (${err.code ?? err.message}); is the agent running?`,
          { control: socketPath },
        ),
      );
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(new AgentLink(lineTransport(socket), { label: options.label ?? socketPath, ...options }));
    });
  });
}

export async function connectRemoteAgent(
  ssh: SshConnection,
  socketPath: string,
  options: AgentLinkOptions = {},
): Promise<AgentLink> {
  const stream = await ssh.openUnixSocket(socketPath);
  return new AgentLink(lineTransport(stream), {
    label: options.label ?? `the agent on ${ssh.target.host}`,
    ...options,
  });
}
