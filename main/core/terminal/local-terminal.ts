// A shell on this machine through a pseudo-terminal (node-pty): the admin's own $SHELL in their home
// folder, e.g. to run their own `ssh` with their own config. node-pty is native and loaded only when a
// local terminal is opened, so the CLI and tests that never open one do not need it.

import { homedir } from 'node:os';
import { FerryError } from '../../../shared/errors.js';
import type { TerminalSession, TerminalSize } from './terminal-session.js';

export interface LocalTerminalOptions extends TerminalSize {
  /** Default: $SHELL, else /bin/sh (COMSPEC or powershell.exe on Windows). */
  shell?: string;
  args?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function defaultShell(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === 'win32') return env.COMSPEC || 'powershell.exe';
  return env.SHELL || '/bin/sh';
}

type NodePty = typeof import('node-pty');

async function loadNodePty(): Promise<NodePty> {
  try {
    const loaded = (await import('node-pty')) as NodePty & { default?: NodePty };
    return loaded.default ?? loaded;
  } catch (err) {
    throw new FerryError(
      'ERR_UNSUPPORTED',
      `local terminals need the native module node-pty, which did not load (${(err as Error).message}): reinstall Ferry, or run npm rebuild node-pty`,
    );
  }
}

export async function openLocalTerminal(options: LocalTerminalOptions): Promise<TerminalSession> {
  const pty = await loadNodePty();
  const env = { ...(options.env ?? process.env), TERM: 'xterm-256color', COLORTERM: 'truecolor' };
  let proc: import('node-pty').IPty;
  try {
    proc = pty.spawn(options.shell ?? defaultShell(), options.args ?? [], {
      name: 'xterm-256color',
      cols: options.cols,
      rows: options.rows,
      cwd: options.cwd ?? homedir(),
      env: env as Record<string, string>,
      encoding: 'utf8',
    });
  } catch (err) {
    throw new FerryError('ERR_IO', `cannot start the local shell: ${(err as Error).message}`);
  }
  let ended = false;
  return {
    write(data) {
      if (!ended) proc.write(data);
    },
    resize(size) {
      if (!ended) proc.resize(size.cols, size.rows);
    },
    close() {
      if (ended) return;
      try {
        proc.kill();
      } catch {
        // already gone
      }
    },
    onData(listener) {
      proc.onData(listener);
    },
    onExit(listener) {
      proc.onExit(({ exitCode, signal }) => {
        ended = true;
        listener(signal ? null : exitCode);
      });
    },
  };
}
