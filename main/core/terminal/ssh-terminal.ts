// A login shell on an appliance over its SSH connection (host key already verified by SshConnection):
// an interactive channel with a pseudo-terminal, output decoded as UTF-8 across chunk boundaries.

import { StringDecoder } from 'node:string_decoder';
import type { SshConnection } from '../ssh/connection.js';
import type { TerminalSession, TerminalSize } from './terminal-session.js';

export async function openSshTerminal(ssh: SshConnection, size: TerminalSize): Promise<TerminalSession> {
  const channel = await ssh.shell(size);
  const decoder = new StringDecoder('utf8');
  const errDecoder = new StringDecoder('utf8');
  let exitCode: number | null = null;
  let ended = false;
  const exitListeners: Array<(code: number | null) => void> = [];
  // Errors on the channel end the session through 'close'; without a listener they would throw.
  channel.on('error', () => {});
  channel.on('exit', (code: unknown) => {
    exitCode = typeof code === 'number' ? code : null;
  });
  channel.on('close', () => {
    if (ended) return;
    ended = true;
    for (const listener of exitListeners) listener(exitCode);
  });
  return {
    write(data) {
      if (!ended) channel.write(data, 'utf8');
    },
    resize(size) {
      if (!ended) channel.setWindow(size.rows, size.cols, 0, 0);
    },
    close() {
      if (ended) return;
      channel.close();
    },
    onData(listener) {
      channel.on('data', (chunk: Buffer) => {
        const text = decoder.write(chunk);
        if (text) listener(text);
      });
      channel.stderr.on('data', (chunk: Buffer) => {
        const text = errDecoder.write(chunk);
        if (text) listener(text);
      });
    },
    onExit(listener) {
      exitListeners.push(listener);
    },
  };
}
