// ctl commands of the pools domain: pool add, pool list, pool remove.

import { resolve } from 'node:path';
import { parseSize } from '../../shared/names.js';
import { type PoolInfo, poolAdd, poolList, poolRemove } from '../../shared/rpc/pools.js';
import { stringOption, usageError } from './args.js';
import type { CtlCommand } from './ctl-command.js';
import { renderTable, tableSize } from './table.js';

export function poolRows(pools: PoolInfo[]): string {
  return renderTable(
    ['NAME', 'KIND', 'SIZE', 'USED', 'FREE', 'LVS', 'WHERE'],
    pools.map((p) => [
      p.name,
      p.kind,
      tableSize(p.size),
      tableSize(p.used),
      tableSize(p.free),
      String(p.lvCount),
      p.kind === 'dir' ? (p.path ?? '') : (p.devices ?? []).join(','),
    ]),
  );
}

export const poolCommands: CtlCommand[] = [
  {
    words: ['pool', 'add'],
    positionals: ['NAME'],
    synopsis: '(--dir PATH [--capacity SIZE] | --device PATH[,PATH...] [--force])',
    summary:
      'add a pool of sparse files in a folder, or of whole block devices (--force: even ones holding data)',
    options: {
      dir: { type: 'string' },
      device: { type: 'string' },
      capacity: { type: 'string' },
      force: { type: 'boolean' },
    },
    async run({ args, params: [name], client, usage }) {
      const dir = stringOption(args, 'dir');
      const device = stringOption(args, 'device');
      const capacity = stringOption(args, 'capacity');
      if ((dir === undefined) === (device === undefined)) {
        throw usageError('give exactly one of --dir or --device', usage);
      }
      let info: PoolInfo;
      if (dir !== undefined) {
        info = await client.call(poolAdd, {
          kind: 'dir',
          name,
          path: resolve(dir),
          ...(capacity !== undefined ? { capacity: parseSize(capacity) } : {}),
        });
      } else {
        if (capacity !== undefined) {
          throw usageError('--capacity applies to --dir pools only', usage);
        }
        const devices = (device ?? '').split(',').filter((d) => d !== '');
        const force = args.values.force === true ? { force: true } : {};
        info = await client.call(poolAdd, {
          kind: 'device',
          name,
          devices: devices.map((d) => resolve(d)),
          ...force,
        });
      }
      // --force: say exactly what was destroyed, device by device, before the success line.
      const forced = (info.forced ?? []).map((f) => `${f.device}: ${f.loss}\n`).join('');
      return { json: info, human: `${forced}pool ${info.name} added: ${tableSize(info.free)} free\n` };
    },
  },
  {
    words: ['pool', 'list'],
    positionals: [],
    synopsis: '',
    summary: 'list pools with their size, used and free space',
    async run({ client }) {
      const { pools } = await client.call(poolList, {});
      return { json: pools, human: poolRows(pools) };
    },
  },
  {
    words: ['pool', 'remove'],
    positionals: ['NAME'],
    synopsis: '',
    summary: 'remove a pool that has no LVs (its files or devices are left as they are)',
    async run({ client, params: [name] }) {
      const result = await client.call(poolRemove, { name });
      return { json: result, human: `pool ${name} removed\n` };
    },
  },
];
