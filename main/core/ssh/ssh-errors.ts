// Maps ssh2's errors (an Error with a `level` and sometimes a socket `code`) to FerryErrors that say
// what failed and what to do.
import { FerryError } from '../../../shared/errors.js';

export interface SshWhere {
  host: string;
  port: number;
  user: string;
}

export function mapSshError(err: unknown, where: SshWhere): FerryError {
  if (err instanceof FerryError) return err;
  const e = err as Error & { level?: string; code?: string };
  const at = `${where.user}@${where.host}:${where.port}`;
  switch (e.level) {
    case 'client-authentication':
      return new FerryError(
        'ERR_AUTH',
        `authentication failed for ${at}: the server refused every offered credential; check the user name and ` +
          'that the key is in its authorized_keys (or the agent holds it)',
        { host: where.host, port: where.port, user: where.user },
      );
    case 'agent':
      return new FerryError('ERR_AUTH', `ssh-agent failed for ${at}: ${e.message}; is SSH_AUTH_SOCK valid?`);
    case 'client-timeout':
      return new FerryError(
        'ERR_UNREACHABLE',
        `${at} did not answer in time (${e.message}); check that it is up`,
        {
          host: where.host,
          port: where.port,
        },
      );
    case 'client-dns':
      return new FerryError('ERR_UNREACHABLE', `cannot resolve ${where.host}: ${e.message}`);
    case 'client-socket': {
      const reason =
        e.code === 'ECONNREFUSED'
          ? 'connection refused: is sshd running on that port?'
          : e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH'
            ? 'no route to the host'
            : e.message;
      return new FerryError('ERR_UNREACHABLE', `cannot connect to ${where.host}:${where.port}: ${reason}`, {
        host: where.host,
        port: where.port,
        errno: e.code,
      });
    }
    default:
      if (/timed out/i.test(e.message ?? '')) {
        return new FerryError('ERR_UNREACHABLE', `${at}: ${e.message}`, {
          host: where.host,
          port: where.port,
        });
      }
      return new FerryError('ERR_UNREACHABLE', `SSH to ${at} failed: ${e.message ?? String(err)}`, {
        host: where.host,
        port: where.port,
        level: e.level,
      });
  }
}
