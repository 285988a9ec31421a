// ctl commands of the volume domain: volume create, volume list, volume delete.

import { FerryError } from '../../shared/errors.js';
import { parseSize } from '../../shared/names.js';
import { describeMapping } from '../../shared/rpc/common.js';
import {
  type VolumeInfo,
  volumeCreate,
  volumeDelete,
  volumeGet,
  volumeList,
} from '../../shared/rpc/volumes.js';
import { type ParsedArgs, requireOption, stringOption } from './args.js';
import type { CtlCommand } from './ctl-command.js';
import { renderTable, tableSize } from './table.js';

export function volumeRows(volumes: VolumeInfo[]): string {
  return renderTable(
    ['NAME', 'SIZE', 'MAPPING', 'EPOCH', 'STATE', 'CONN', 'UUID'],
    volumes.map((v) => [
      v.name,
      tableSize(v.size),
      describeMapping(v.mapping),
      String(v.epoch),
      v.state,
      String(v.connections),
      v.uuid,
    ]),
  );
}

/** --epoch N, the fencing epoch a mutating command expects. */
export function epochOption(args: ParsedArgs): number | undefined {
  const text = stringOption(args, 'epoch');
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `invalid --epoch ${JSON.stringify(text)}: use a whole number >= 1`,
    );
  }
  return Number(text);
}

export const volumeCommands: CtlCommand[] = [
  {
    words: ['volume', 'create'],
    positionals: ['NAME'],
    synopsis: '--size SIZE --pool POOL',
    summary: 'create a virtual volume on a new LV of a pool (served over NBD at once)',
    options: { size: { type: 'string' }, pool: { type: 'string' } },
    async run({ args, params: [name], client, usage }) {
      const size = parseSize(requireOption(args, 'size', usage));
      const pool = requireOption(args, 'pool', usage);
      const v = await client.call(volumeCreate, { name, size, pool });
      return {
        json: v,
        human: `volume ${v.name} created: ${tableSize(v.size)} on ${describeMapping(v.mapping)}, epoch ${v.epoch}, uuid ${v.uuid}\n`,
      };
    },
  },
  {
    words: ['volume', 'show'],
    positionals: ['NAME'],
    synopsis: '',
    summary: 'one virtual volume: mapping, epoch, state, connections',
    async run({ params: [name], client }) {
      const v = await client.call(volumeGet, { name });
      const human = [
        `name:        ${v.name}`,
        `uuid:        ${v.uuid}`,
        `size:        ${tableSize(v.size)} (${v.size} bytes)`,
        `mapping:     ${describeMapping(v.mapping)}${v.mapping.kind === 'remote' ? ` (PSK identity ${v.mapping.pskIdentity})` : ''}`,
        `epoch:       ${v.epoch}`,
        `state:       ${v.state}${v.error ? ` (${v.error})` : ''}`,
        `connections: ${v.connections}`,
        `created:     ${v.createdAt}`,
      ].join('\n');
      return { json: v, human: `${human}\n` };
    },
  },
  {
    words: ['volume', 'list'],
    positionals: [],
    synopsis: '',
    summary: 'list virtual volumes with their mapping and epoch',
    async run({ client }) {
      const { volumes } = await client.call(volumeList, {});
      return { json: volumes, human: volumeRows(volumes) };
    },
  },
  {
    words: ['volume', 'delete'],
    positionals: ['NAME'],
    synopsis: '[--epoch N] [--force]',
    summary: 'delete a virtual volume and its LV (--force disconnects its NBD clients)',
    options: { epoch: { type: 'string' }, force: { type: 'boolean' } },
    async run({ args, params: [name], client }) {
      const expectEpoch = epochOption(args);
      const result = await client.call(volumeDelete, {
        name,
        ...(expectEpoch !== undefined ? { expectEpoch } : {}),
        ...(args.values.force === true ? { force: true } : {}),
      });
      return { json: result, human: `volume ${name} deleted\n` };
    },
  },
];
