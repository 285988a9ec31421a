// The console's link to agents' control RPC: a transport-free JSON-RPC client and two adapters.
export { connectLocalAgent, connectRemoteAgent } from './connect.js';
export { lineTransport } from './line-transport.js';
export {
  AgentLink,
  type AgentLinkOptions,
  type CallOptions,
  isMethodNotFound,
  type RpcTransport,
} from './rpc-link.js';
