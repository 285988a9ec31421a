// `ferry web [--port P] [--no-open]`: the browser shell. The UI and the bridge on 127.0.0.1 only, with
// a random token in the URL it prints; serves until Ctrl-C.
import { createBridgeHandler } from '../../core/console/bridge-handler.js';
import { runWebShell } from '../../web/run-web-shell.js';
import { intOpt } from '../cli-args.js';
import type { Command } from '../cli-context.js';

export const webCommand: Command = {
  path: ['web'],
  usage: 'ferry web [--port P] [--no-open]',
  summary: 'the console in your browser (127.0.0.1 only, token in the URL)',
  options: { port: { type: 'string' }, 'no-open': { type: 'boolean' } },
  async run(ctx, inv) {
    const core = await ctx.core();
    await core.moves.reconcile().catch(() => {});
    await runWebShell({
      handler: createBridgeHandler(core),
      port: intOpt(inv, 'port'),
      open: inv.values['no-open'] !== true && process.env.CI !== 'true',
      write: (line) => process.stdout.write(`${line}\n`),
    });
    return 0;
  },
};
