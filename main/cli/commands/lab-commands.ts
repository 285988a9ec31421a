// `ferry lab up|down|destroy|status`: the local lab of appliances on this machine.
import { FerryError } from '../../../shared/errors.js';
import { intOpt, sizeOpt } from '../cli-args.js';
import type { Command } from '../cli-context.js';

export const labCommands: Command[] = [
  {
    path: ['lab', 'up'],
    usage: 'ferry lab up [--appliances N] [--pool-size SIZE]',
    summary: 'start (creating when absent) the local lab and register its appliances',
    options: { appliances: { type: 'string' }, 'pool-size': { type: 'string' } },
    async run(ctx, inv) {
      const core = await ctx.core();
      const appliances = intOpt(inv, 'appliances');
      if (appliances !== undefined && (appliances < 1 || appliances > 8)) {
        throw new FerryError('ERR_INVALID_ARGUMENT', '--appliances must be 1 to 8');
      }
      const status = await core.labUp({ appliances, poolSize: sizeOpt(inv, 'pool-size') });
      ctx.out.result(status, (s) => `lab up: ${s.appliances.join(', ')} (in ${s.dir})`);
      return 0;
    },
  },
  {
    path: ['lab', 'down'],
    usage: 'ferry lab down',
    summary: 'stop the lab appliances (they show offline with their last inventory)',
    async run(ctx) {
      const status = await (await ctx.core()).labDown();
      ctx.out.result(status, (s) => `lab down: ${s.appliances.join(', ') || 'no appliances'}`);
      return 0;
    },
  },
  {
    path: ['lab', 'destroy'],
    usage: 'ferry lab destroy',
    summary: 'stop and delete the lab and its appliances',
    async run(ctx) {
      await (await ctx.core()).labDestroy();
      ctx.out.result({ destroyed: true }, () => 'lab destroyed');
      return 0;
    },
  },
  {
    path: ['lab', 'status'],
    usage: 'ferry lab status',
    summary: 'is the lab up, and which appliances it has',
    async run(ctx) {
      const status = await (await ctx.core()).labStatus();
      ctx.out.result(status, (s) =>
        s.state === 'absent'
          ? 'no lab: start one with ferry lab up'
          : `lab ${s.state}: ${s.appliances.join(', ')} (in ${s.dir})`,
      );
      return 0;
    },
  },
];
