// The floor under any agent-to-agent copy in Node: BYTES of data sent over one TLS 1.3 PSK stream
// (TLS_AES_128_GCM_SHA256, what two agents negotiate) between two Node processes on loopback, with no
// NBD, no disk and the receiver reading into one reused buffer, as the agent does. bench-copy runs it
// next to the move: the move's data cannot go faster than this.
//
//   node tls-stream-floor.mjs BYTES            prints {"seconds": S} (sender and receiver processes)
//   node tls-stream-floor.mjs send BYTES       the sender: prints its port, serves one receiver

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

const CIPHER = 'TLS_AES_128_GCM_SHA256';
const WRITE = 4 * 1024 * 1024;

function send(bytes, key) {
  const server = net.createServer((raw) => {
    const socket = new tls.TLSSocket(raw, { isServer: true, ciphers: CIPHER, pskCallback: () => key });
    socket.on('secure', () => {
      const block = randomBytes(WRITE);
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          const n = Math.min(WRITE, bytes - sent);
          sent += n;
          if (!socket.write(n === WRITE ? block : block.subarray(0, n))) return socket.once('drain', pump);
        }
      };
      pump();
    });
    socket.on('error', () => {});
    socket.on('close', () => server.close());
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
}

function receive(port, bytes, key) {
  return new Promise((resolve, reject) => {
    let got = 0;
    let started = 0;
    const socket = tls.connect({
      port,
      host: '127.0.0.1',
      ciphers: CIPHER,
      pskCallback: () => ({ psk: key, identity: 'floor' }),
      checkServerIdentity: () => undefined,
      onread: {
        buffer: Buffer.allocUnsafe(64 * 1024),
        callback: (n) => {
          got += n;
          if (got >= bytes) {
            resolve((performance.now() - started) / 1000);
            socket.destroy();
          }
          return true;
        },
      },
    });
    socket.on('secureConnect', () => (started = performance.now()));
    socket.on('error', reject);
  });
}

const [first, second] = process.argv.slice(2);
if (first === 'send') {
  send(Number(second), Buffer.from(process.env.FLOOR_PSK, 'hex'));
} else {
  const bytes = Number(first);
  const key = randomBytes(32);
  const sender = spawn(process.execPath, [fileURLToPath(import.meta.url), 'send', String(bytes)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FLOOR_PSK: key.toString('hex') },
  });
  const port = await new Promise((resolve, reject) => {
    sender.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    sender.once('exit', (code) => reject(new Error(`the sender exited (${code})`)));
  });
  const seconds = await receive(port, bytes, key).finally(() => sender.kill());
  process.stdout.write(`${JSON.stringify({ seconds })}\n`);
}
