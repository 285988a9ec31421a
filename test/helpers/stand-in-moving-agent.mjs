// A stand-in agent for the one deploy rule the real agent cannot exercise yet: "an upgrade is refused
// while the agent reports a move in progress". It answers `info` and `move.list` (one move copying)
// on its control socket, like `ferry-agent serve`. Replace with a real move once the agent has
// the move RPC.
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';

const args = process.argv.slice(2);
const opt = (name) => args[args.indexOf(`--${name}`) + 1];
const control = opt('control');
const [host, port] = opt('listen').split(':');
rmSync(control, { force: true });
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  let buffer = '';
  socket.on('data', (chunk) => {
    buffer += chunk;
    let nl = buffer.indexOf('\n');
    while (nl !== -1) {
      const request = JSON.parse(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
      const result =
        request.method === 'info'
          ? {
              version: 'stand-in',
              pid: process.pid,
              startedAt: new Date().toISOString(),
              stateDir: opt('state-dir'),
              control,
              nbd: { host, port: Number(port) },
              pools: [],
              volumes: [],
            }
          : request.method === 'move.list'
            ? { moves: [{ id: 'move-1', phase: 'copying' }] }
            : undefined;
      const reply = result
        ? { jsonrpc: '2.0', id: request.id, result }
        : { jsonrpc: '2.0', id: request.id, error: { code: -32601, message: 'unknown method' } };
      socket.write(`${JSON.stringify(reply)}\n`);
    }
  });
});
server.listen(control, () => writeFileSync(`${control}.ready`, ''));
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
