// Turns Ferry's auth choice into ssh2 connect settings: a key file (with its passphrase, asked for
// only when the key is encrypted), the user's ssh-agent (SSH_AUTH_SOCK), or a password. Secrets are
// taken from callbacks at connect time and never kept beyond the connect call.
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { FerryError } from '../../../shared/errors.js';

// ssh2 is CommonJS: Node's ESM loader cannot see `utils` as a named export (the bundled CLI fails).
const { utils } = ssh2;

export type SecretSource = string | (() => Promise<string>);

export type SshAuth =
  | { kind: 'key'; identityFile: string; passphrase?: SecretSource }
  | { kind: 'agent'; socket?: string }
  | { kind: 'password'; password: SecretSource };

export interface Ssh2AuthSettings {
  privateKey?: Buffer;
  passphrase?: string;
  agent?: string;
  password?: string;
}

const secret = async (source: SecretSource): Promise<string> =>
  typeof source === 'string' ? source : source();

export async function resolveAuth(
  auth: SshAuth,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Ssh2AuthSettings> {
  switch (auth.kind) {
    case 'agent': {
      const socket = auth.socket ?? env.SSH_AUTH_SOCK;
      if (!socket) {
        throw new FerryError(
          'ERR_AUTH',
          'ssh-agent authentication chosen but SSH_AUTH_SOCK is not set: start ssh-agent and ssh-add your key, or use --identity FILE',
        );
      }
      return { agent: socket };
    }
    case 'password':
      return { password: await secret(auth.password) };
    case 'key':
      return resolveKeyFile(auth.identityFile, auth.passphrase);
  }
}

async function resolveKeyFile(identityFile: string, passphrase?: SecretSource): Promise<Ssh2AuthSettings> {
  let privateKey: Buffer;
  try {
    privateKey = await readFile(identityFile);
  } catch (err) {
    throw new FerryError(
      'ERR_AUTH',
      `cannot read the identity file ${identityFile}: ${(err as Error).message}`,
    );
  }
  const plain = utils.parseKey(privateKey);
  if (!(plain instanceof Error)) return { privateKey };
  if (!/encrypted|passphrase/i.test(plain.message)) {
    throw new FerryError('ERR_AUTH', `${identityFile} is not a private key ssh2 can read: ${plain.message}`);
  }
  if (passphrase === undefined) {
    throw new FerryError(
      'ERR_AUTH',
      `the key ${identityFile} is encrypted: give its passphrase (run on a terminal to be asked)`,
    );
  }
  const phrase = await secret(passphrase);
  const decrypted = utils.parseKey(privateKey, phrase);
  if (decrypted instanceof Error) {
    throw new FerryError('ERR_AUTH', `wrong passphrase for ${identityFile}`);
  }
  return { privateKey, passphrase: phrase };
}
