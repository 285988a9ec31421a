// `ferry demo`: Ferry's main job on an embedded default, with nothing but Node. Two local appliances
// (agents as local processes), a volume filled with verifiable data, a host (the agent's host-writer,
// Ferry's own NBD client) writing during the move, the move with a live progress bar, and a summary:
// bytes moved, rate, cutover pause, data verified. It keeps its own store and lab folder, so the
// admin's catalog is untouched.
import { join } from 'node:path';
import { FerryError } from '../../../shared/errors.js';
import { formatSizeApprox } from '../../../shared/names.js';
import { DEFAULT_BUSY_THROTTLE } from '../../../shared/rpc/moves.js';
import { ConsoleCore } from '../../core/console/console-core.js';
import { startHostWriter } from '../../core/lab/host-writer-process.js';
import { openStore } from '../../core/store/index.js';
import { ferryDataDir } from '../../core/store/store-path.js';
import { sizeOpt, str } from '../cli-args.js';
import type { Command } from '../cli-context.js';
import { ProgressLine } from '../progress-bar.js';

const VOLUME = 'demo-vol';

export const demoCommand: Command = {
  path: ['demo'],
  usage: 'ferry demo [--size SIZE] [--dir DIR] [--keep | --clean]',
  summary: 'the demo lab: two local appliances, a volume under live writes, an online move, data verified',
  options: {
    size: { type: 'string' },
    dir: { type: 'string' },
    keep: { type: 'boolean' },
    clean: { type: 'boolean' },
  },
  async run(ctx, inv) {
    const out = ctx.out;
    const size = sizeOpt(inv, 'size') ?? 256 * 1024 * 1024;
    const dir = str(inv, 'dir') ?? join(ferryDataDir(), 'demo');
    const store = openStore({ path: join(dir, 'ferry-demo.db'), actor: 'ferry demo' });
    const core = new ConsoleCore({ store, labDir: join(dir, 'lab'), labPrefix: 'demo' });
    try {
      if (inv.values.clean) {
        await core.labDestroy();
        out.result({ cleaned: dir }, () => `the demo lab in ${dir} is stopped and removed`);
        return 0;
      }
      out.note('Ferry demo: two local appliances, one volume under live writes, an online move.');
      await core.labDestroy(); // a fresh start every time: nothing left from an earlier run
      await core.labUp({ appliances: 2, poolSize: Math.max(2 * size, 1024 ** 3) });
      const [a, b] = store.appliances.list();
      out.note(`  appliances  ${a.name} (NBD ${a.nbdListen}), ${b.name} (NBD ${b.nbdListen}) in ${dir}`);

      const volume = await core.createVolume({ name: VOLUME, size, on: { appliance: a.name, pool: 'pool' } });
      const url = `nbd://${a.nbdListen}/${VOLUME}`;
      out.note(
        `  volume      ${VOLUME}: ${formatSizeApprox(size)} on ${a.name}/pool, epoch ${volume.epoch}, served at ${url}`,
      );

      const host = await startHostWriter(url, { fill: true, blockSize: 64 * 1024, depth: 4 });
      out.note(
        `  host        filled the volume with ${host.ready.blocks} verifiable blocks; now rewriting blocks at random`,
      );

      const progress = new ProgressLine();
      const started = await core.moves.start({
        volume: VOLUME,
        to: { appliance: b.name, pool: 'pool' },
        throttleBps: null,
        verify: false,
        keepSource: false,
      });
      out.note(`  moving      ${VOLUME} -> ${b.name}/pool (move ${started.id})`);
      out.note(
        `  hosts first the copy runs at most at ${formatSizeApprox(DEFAULT_BUSY_THROTTLE)}/s while the host writes, at full speed when it is quiet`,
      );
      const finished = await core.moves.follow(started.id, (m) => {
        out.jsonLine({ type: 'move.progress', move: m });
        progress.update({
          label: '  ',
          phase: m.phase,
          percent: m.percent,
          rateBps: m.rateBps,
          etaSeconds: m.etaSeconds,
          extra: `mirrored ${m.mirroredWrites}${m.hostsFirst ? ', hosts first' : ''}`,
        });
      });
      progress.done();
      const result = await host.stop();
      const after = core.inventory().volumes.find((v) => v.name === VOLUME);
      const seconds = finished.endedAt
        ? (Date.parse(finished.endedAt) - Date.parse(finished.startedAt)) / 1000
        : null;
      const verified = finished.phase === 'done' && result.mismatches === 0 && result.errors === 0;
      const summary = {
        move: finished,
        bytesMoved: finished.bytesTotal,
        seconds,
        rateBps: seconds ? finished.bytesTotal / seconds : null,
        cutoverPauseMs: finished.cutoverPauseMs,
        epochBefore: volume.epoch,
        epochAfter: after?.epoch ?? null,
        nowOn: after ? `${after.appliance}/${after.pool}/${after.lv}` : null,
        host: result,
        dataVerified: verified,
      };
      out.result(summary, (s) =>
        [
          '',
          'Summary',
          `  moved       ${formatSizeApprox(s.bytesMoved)}${s.seconds !== null ? ` in ${s.seconds.toFixed(1)} s (${formatSizeApprox(s.rateBps ?? 0)}/s)` : ''}, phase ${finished.phase}`,
          `  cutover     host I/O held for ${s.cutoverPauseMs ?? '?'} ms; mapping epoch ${s.epochBefore} -> ${s.epochAfter} (now on ${s.nowOn})`,
          `  host        ${result.writes} writes, ${result.errors} errors; ${result.verifiedBlocks} blocks read back, ${result.mismatches} mismatches`,
          `  data        ${s.dataVerified ? 'verified: every block holds what the host last wrote' : 'NOT verified'}`,
          inv.values.keep
            ? `  the demo lab keeps running in ${dir}: its volume is at nbd://${store.appliances.list()[0]?.nbdListen}/${VOLUME}; remove it with ferry demo --clean${str(inv, 'dir') ? ` --dir ${dir}` : ''}`
            : '',
        ].join('\n'),
      );
      if (finished.phase !== 'done')
        throw new FerryError(
          'ERR_MOVE_STATE',
          `the move ended ${finished.phase}: ${finished.error?.message ?? ''}`,
        );
      return verified ? 0 : 1;
    } finally {
      if (!inv.values.keep && !inv.values.clean) await core.labDestroy().catch(() => {});
      core.close();
      store.close();
    }
  },
};
