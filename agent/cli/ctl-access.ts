// ctl commands of the access domain: volume access (show or change a volume's rules) and
// volume psk add/list/remove (TLS-PSK identities of hosts; a new key is printed once).

import { FerryError } from '../../shared/errors.js';
import {
  type AccessPolicyInfo,
  volumeAccessGet,
  volumeAccessSet,
  volumePskAdd,
  volumePskList,
  volumePskRemove,
} from '../../shared/rpc/access.js';
import { parseAllowOption, parseHostTlsMode } from '../access/access-policy.js';
import { requireOption, stringOption } from './args.js';
import type { CtlCommand } from './ctl-command.js';
import { renderTable } from './table.js';

function describe(name: string, p: AccessPolicyInfo): string {
  const who = p.denyAll ? 'deny all hosts' : `allow ${p.allow.join(', ') || 'nothing'}`;
  const ids = p.pskIdentities.length > 0 ? `, PSK identities ${p.pskIdentities.join(', ')}` : '';
  return `volume ${name}: ${who}; ${p.readOnly ? 'read-only' : 'read-write'}; host TLS ${p.hostTls}${ids}\n`;
}

export const accessCommands: CtlCommand[] = [
  {
    words: ['volume', 'access'],
    positionals: ['NAME'],
    synopsis:
      '[--allow ADDR|CIDR[,...] | --deny-all] [--read-only | --read-write] [--host-tls off|allow|require]',
    summary: 'show or change who may reach a volume (clients the new rules refuse are disconnected)',
    options: {
      allow: { type: 'string' },
      'deny-all': { type: 'boolean' },
      'read-only': { type: 'boolean' },
      'read-write': { type: 'boolean' },
      'host-tls': { type: 'string' },
    },
    async run({ args, params: [name], client, usage }) {
      const allowText = stringOption(args, 'allow');
      const hostTlsText = stringOption(args, 'host-tls');
      const denyAll = args.values['deny-all'] === true;
      const readOnly = args.values['read-only'] === true;
      const readWrite = args.values['read-write'] === true;
      if (allowText !== undefined && denyAll) {
        throw new FerryError(
          'ERR_INVALID_ARGUMENT',
          `give either --allow or --deny-all, not both\nusage: ${usage}`,
        );
      }
      if (readOnly && readWrite) {
        throw new FerryError(
          'ERR_INVALID_ARGUMENT',
          `give either --read-only or --read-write, not both\nusage: ${usage}`,
        );
      }
      const change = {
        // Checked here too, so a typo fails before anything is sent.
        ...(allowText !== undefined ? { allow: parseAllowOption(allowText) } : {}),
        ...(denyAll ? { denyAll: true } : {}),
        ...(readOnly || readWrite ? { readOnly } : {}),
        ...(hostTlsText !== undefined ? { hostTls: parseHostTlsMode(hostTlsText) } : {}),
      };
      if (Object.keys(change).length === 0) {
        const { policy } = await client.call(volumeAccessGet, { name });
        return { json: { name, policy }, human: describe(name, policy) };
      }
      const result = await client.call(volumeAccessSet, { name, ...change });
      const closed =
        result.disconnected.length > 0
          ? `disconnected (no longer allowed): ${result.disconnected.join(', ')}\n`
          : '';
      return { json: result, human: describe(name, result.policy) + closed };
    },
  },
  {
    words: ['volume', 'psk', 'add'],
    positionals: ['NAME'],
    synopsis: '--identity ID',
    summary: 'let a host open the volume over TLS with a PSK identity (a new key is printed once)',
    options: { identity: { type: 'string' } },
    async run({ args, params: [name], client, usage }) {
      const identity = requireOption(args, 'identity', usage);
      const result = await client.call(volumePskAdd, { name, identity });
      const human =
        result.key !== undefined
          ? `${result.identity}:${result.key}\n` +
            `(a PSK file line: keep it in a file of mode 0600 for the host, e.g. nbdinfo 'nbds://${result.identity}@HOST:PORT/${name}?tls-psk-file=FILE'; it is not shown again)\n`
          : `PSK identity ${result.identity} now also opens volume ${name} (with the key it already has)\n`;
      return { json: result, human };
    },
  },
  {
    words: ['volume', 'psk', 'list'],
    positionals: ['NAME?'],
    synopsis: '',
    summary: 'list the PSK identities of one volume or of all (never the keys)',
    async run({ params: [name], client }) {
      const { psks } = await client.call(volumePskList, name !== undefined ? { name } : {});
      return {
        json: psks,
        human: renderTable(
          ['VOLUME', 'IDENTITY'],
          psks.map((p) => [p.volume, p.identity]),
        ),
      };
    },
  },
  {
    words: ['volume', 'psk', 'remove'],
    positionals: ['NAME'],
    synopsis: '--identity ID',
    summary: 'take a PSK identity off a volume (its connections to the volume are closed)',
    options: { identity: { type: 'string' } },
    async run({ args, params: [name], client, usage }) {
      const identity = requireOption(args, 'identity', usage);
      const result = await client.call(volumePskRemove, { name, identity });
      return { json: result, human: `PSK identity ${identity} removed from volume ${name}\n` };
    },
  },
];
