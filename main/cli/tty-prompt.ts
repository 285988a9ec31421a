// Questions the CLI asks on a terminal: a secret typed without echo (raw mode, so nothing of it is
// printed or kept in the shell's scrollback) and a yes/no. Prompts go to stderr so --json output on
// stdout stays clean. Without a TTY nothing is asked: callers must fall back to a clear error.
import { FerryError } from '../../shared/errors.js';
import type { SecretPrompts } from '../core/console/appliance-service.js';

export function canPrompt(): boolean {
  return process.stdin.isTTY === true;
}

/** Reads one line without echo. Ctrl-C or Ctrl-D abandon it (ERR_AUTH: nothing was typed). */
export function askSecret(question: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) return Promise.reject(new FerryError('ERR_AUTH', `${question} (needs a terminal)`));
  return new Promise((resolve, reject) => {
    let typed = '';
    const wasRaw = input.isRaw;
    // Echo off before the prompt shows, as readpassphrase(3) does: a fast typist is not echoed either.
    input.setRawMode(true);
    process.stderr.write(question);
    const finish = (err?: FerryError) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || ch === '\u0004') {
          return finish(new FerryError('ERR_AUTH', 'cancelled: no secret was typed'));
        }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
    };
    input.resume();
    input.on('data', onData);
  });
}

/** A yes/no question; only "y" or "yes" is a yes. */
export function askYesNo(question: string): Promise<boolean> {
  const input = process.stdin;
  if (!input.isTTY) return Promise.resolve(false);
  process.stderr.write(`${question} [y/N] `);
  return new Promise((resolve) => {
    let line = '';
    const onData = (chunk: Buffer) => {
      line += chunk.toString('utf8');
      const nl = line.search(/[\r\n]/);
      if (nl === -1) return;
      input.off('data', onData);
      input.pause();
      resolve(/^\s*y(es)?\s*$/i.test(line.slice(0, nl)));
    };
    input.resume();
    input.on('data', onData);
  });
}

/** The console core's secret prompts, on this terminal (undefined without one). */
export function ttySecretPrompts(): SecretPrompts | undefined {
  if (!canPrompt()) return undefined;
  return {
    passphrase: ({ identityFile }) => askSecret(`passphrase for ${identityFile}: `),
    password: ({ user, host }) => askSecret(`password for ${user}@${host}: `),
  };
}
