// `ferry move VOLUME --to APPLIANCE/POOL`, `ferry moves`, `ferry move status|pause|resume|abort ID`:
// orchestrated online moves, followed with a progress bar on a terminal or JSON lines with --json.
import type { Move } from '../../../shared/bridge/model.js';
import { FerryError } from '../../../shared/errors.js';
import { formatSizeApprox, parseRate } from '../../../shared/names.js';
import type { ConsoleCore } from '../../core/console/console-core.js';
import { parsePoolRef, requireStr, str } from '../cli-args.js';
import type { CliContext, Command } from '../cli-context.js';
import { age, table } from '../cli-output.js';
import { ProgressLine } from '../progress-bar.js';

function describe(m: Move): string {
  const lines = [
    `move ${m.id}: ${m.volume} ${m.from.appliance}/${m.from.pool} -> ${m.to.appliance}/${m.to.pool}`,
    `  phase ${m.phase}${m.paused ? ' (paused)' : m.hostsFirst ? ' (hosts first)' : ''}, ${m.percent.toFixed(1)}% of ${formatSizeApprox(m.bytesTotal)}, mirrored writes ${m.mirroredWrites}`,
  ];
  if (m.cutoverPauseMs !== null) lines.push(`  cutover pause ${m.cutoverPauseMs} ms`);
  if (m.error) lines.push(`  error: ${m.error.message} (${m.error.code})`);
  lines.push(`  started ${age(m.startedAt)}${m.endedAt ? `, ended ${age(m.endedAt)}` : ''}`);
  return lines.join('\n');
}

/** Follows a move to its end with a progress bar (or JSON lines); exit 0 only when it is done. */
export async function followMove(ctx: CliContext, core: ConsoleCore, id: string): Promise<number> {
  const bar = new ProgressLine();
  const final = await core.moves.follow(id, (m) => {
    ctx.out.jsonLine({ type: 'move.progress', move: m });
    bar.update({
      label: m.volume,
      phase: m.paused ? 'paused' : m.phase,
      percent: m.percent,
      rateBps: m.rateBps,
      etaSeconds: m.etaSeconds,
      extra: `mirrored ${m.mirroredWrites}${m.hostsFirst ? ', hosts first' : ''}`,
    });
  });
  bar.done();
  ctx.out.result(final, describe);
  if (final.phase !== 'done') {
    throw new FerryError(
      'ERR_MOVE_STATE',
      `move ${final.id} ended ${final.phase}${final.error ? `: ${final.error.message}` : ''}`,
    );
  }
  return 0;
}

function control(
  path: string,
  act: (core: ConsoleCore, id: string) => Promise<Move>,
  summary: string,
): Command {
  return {
    path: ['move', path],
    usage: `ferry move ${path} ID`,
    summary,
    args: ['ID'],
    async run(ctx, inv) {
      const core = await ctx.core();
      const move = await act(core, inv.positionals[0]);
      ctx.out.result(move, describe);
      return 0;
    },
  };
}

const MOVE_USAGE =
  'ferry move VOLUME --to APPLIANCE/POOL [--throttle RATE] [--busy-throttle RATE] [--verify] [--keep-source] [--detach]';

export const moveCommands: Command[] = [
  {
    path: ['move'],
    usage: MOVE_USAGE,
    summary: 'move a volume online to another pool, usually on another appliance',
    args: ['VOLUME'],
    options: {
      to: { type: 'string' },
      throttle: { type: 'string' },
      'busy-throttle': { type: 'string' },
      verify: { type: 'boolean' },
      'keep-source': { type: 'boolean' },
      detach: { type: 'boolean' },
    },
    async run(ctx, inv) {
      const core = await ctx.core();
      const throttle = str(inv, 'throttle');
      const busyThrottle = str(inv, 'busy-throttle');
      const move = await core.moves.start({
        volume: inv.positionals[0],
        to: parsePoolRef(requireStr(inv, 'to')),
        throttleBps: throttle ? parseRate(throttle) : null,
        ...(busyThrottle !== undefined ? { busyThrottleBps: parseRate(busyThrottle) } : {}),
        verify: inv.values.verify === true,
        keepSource: inv.values['keep-source'] === true,
      });
      if (inv.values.detach) {
        ctx.out.result(
          move,
          (m) => `move ${m.id} started: follow it with ferry move status ${m.id} --follow`,
        );
        return 0;
      }
      ctx.out.note(`move ${move.id} started: ${move.volume} -> ${move.to.appliance}/${move.to.pool}`);
      return followMove(ctx, core, move.id);
    },
  },
  {
    path: ['moves'],
    usage: 'ferry moves',
    summary: 'moves in progress and recent ones (state asked from the agents)',
    async run(ctx) {
      const core = await ctx.core();
      await core.moves.reconcile();
      const moves = core.moves.list();
      ctx.out.result(moves, (list) =>
        table(
          ['ID', 'VOLUME', 'FROM', 'TO', 'PHASE', 'DONE', 'STARTED'],
          list.map((m) => [
            m.id.slice(0, 8),
            m.volume,
            `${m.from.appliance}/${m.from.pool}`,
            `${m.to.appliance}/${m.to.pool}`,
            m.paused ? 'paused' : m.phase,
            `${m.percent.toFixed(0)}%`,
            age(m.startedAt),
          ]),
        ),
      );
      return 0;
    },
  },
  {
    path: ['move', 'status'],
    usage: 'ferry move status ID [--follow]',
    summary: "a move's state (--follow: until it ends)",
    args: ['ID'],
    options: { follow: { type: 'boolean' } },
    async run(ctx, inv) {
      const core = await ctx.core();
      await core.moves.reconcile();
      if (inv.values.follow) return followMove(ctx, core, inv.positionals[0]);
      ctx.out.result(core.moves.get(inv.positionals[0]), describe);
      return 0;
    },
  },
  control('pause', (core, id) => core.moves.pause(id), 'pause the copy (host writes stay mirrored)'),
  control('resume', (core, id) => core.moves.resume(id), 'resume a paused copy'),
  control(
    'abort',
    (core, id) => core.moves.abort(id),
    'abort a move before cutover (the volume stays where it was)',
  ),
];
