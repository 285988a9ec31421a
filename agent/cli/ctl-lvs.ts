// ctl commands of the LV domain: lv create, lv list, lv delete.

import { parseSize } from '../../shared/names.js';
import { lvCreate, lvDelete, lvList } from '../../shared/rpc/lvs.js';
import { requireOption } from './args.js';
import type { CtlCommand } from './ctl-command.js';
import { renderTable, tableSize } from './table.js';

export const lvCommands: CtlCommand[] = [
  {
    words: ['lv', 'create'],
    positionals: ['POOL', 'NAME'],
    synopsis: '--size SIZE',
    summary: 'create a logical volume in a pool',
    options: { size: { type: 'string' } },
    async run({ args, params: [pool, name], client, usage }) {
      const size = parseSize(requireOption(args, 'size', usage));
      const lv = await client.call(lvCreate, { pool, name, size });
      const zeroes = lv.readsAsZero ? ' (reads as zeroes until written)' : '';
      return {
        json: lv,
        human: `LV ${pool}/${name} created: ${tableSize(lv.size)} at ${lv.path}${zeroes}\n`,
      };
    },
  },
  {
    words: ['lv', 'list'],
    positionals: ['POOL?'],
    synopsis: '',
    summary: 'list logical volumes (of one pool, or all)',
    async run({ params: [pool], client }) {
      const { lvs } = await client.call(lvList, pool !== undefined ? { pool } : {});
      const human = renderTable(
        ['POOL', 'NAME', 'SIZE', 'ALLOCATED', 'MAPPED BY', 'PATH'],
        lvs.map((lv) => [
          lv.pool,
          lv.name,
          tableSize(lv.size),
          lv.allocated === null ? '-' : tableSize(lv.allocated),
          lv.mappedBy ?? '-',
          lv.path,
        ]),
      );
      return { json: lvs, human };
    },
  },
  {
    words: ['lv', 'delete'],
    positionals: ['POOL', 'NAME'],
    synopsis: '[--force]',
    summary: 'delete a logical volume that no volume maps (--force also takes it from its peers)',
    options: { force: { type: 'boolean' } },
    async run({ args, params: [pool, name], client }) {
      const force = args.values.force === true;
      const result = await client.call(lvDelete, { pool, name, ...(force ? { force } : {}) });
      const gone = result.disconnected?.length ? `; disconnected ${result.disconnected.join(', ')}` : '';
      return { json: result, human: `LV ${pool}/${name} deleted${gone}\n` };
    },
  },
];
