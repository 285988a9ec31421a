// ctl commands of the move domain: move start/list/status/pause/resume/abort/throttle, and the raw
// LV exports a move's target agent serves to its peers: lv export, lv unexport, lv exports.

import { FerryError } from '../../shared/errors.js';
import { formatSizeApprox, parseRate, parseSize, validateName } from '../../shared/names.js';
import { describeMapping } from '../../shared/rpc/common.js';
import {
  lvExport,
  lvExports,
  lvUnexport,
  type MoveInfo,
  type MoveTarget,
  moveAbort,
  moveList,
  movePause,
  moveResume,
  moveStart,
  moveStatus,
  moveThrottle,
} from '../../shared/rpc/moves.js';
import { type ParsedArgs, requireOption, stringOption, usageError } from './args.js';
import type { CtlCommand } from './ctl-command.js';
import { epochOption } from './ctl-volumes.js';
import { renderTable } from './table.js';

/** --to POOL/LV or --to nbds://HOST:PORT/EXPORT with --psk-identity and --psk-key. */
export function parseMoveTarget(args: ParsedArgs, usage: string): MoveTarget {
  const to = requireOption(args, 'to', usage);
  if (/^nbds:\/\//.test(to)) {
    const pskIdentity = requireOption(args, 'psk-identity', usage);
    const pskKey = requireOption(args, 'psk-key', usage);
    if (!/^([0-9a-fA-F]{2}){16,64}$/.test(pskKey)) {
      throw new FerryError(
        'ERR_INVALID_ARGUMENT',
        '--psk-key must be 32 to 128 hex digits (openssl rand -hex 32)',
      );
    }
    return { kind: 'remote', url: to, pskIdentity, pskKey, ...readsAsZeroClaim(args) };
  }
  if (/^[a-z+]+:\/\//i.test(to)) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `--to ${to}: a remote target must be nbds://HOST:PORT/EXPORT (moves between agents always use TLS-PSK)`,
    );
  }
  const parts = to.split('/');
  if (parts.length !== 2) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `--to ${JSON.stringify(to)}: use POOL/LV or nbds://HOST:PORT/EXPORT`,
    );
  }
  return {
    kind: 'local',
    pool: validateName('pool', parts[0]),
    lv: validateName('LV', parts[1]),
    ...readsAsZeroClaim(args),
  };
}

function readsAsZeroClaim(args: ParsedArgs): { readsAsZero?: true } {
  return args.values['target-is-zero'] === true ? { readsAsZero: true } : {};
}

function describeMove(m: MoveInfo): string {
  const percent = m.totalBytes > 0 ? ((m.copiedBytes / m.totalBytes) * 100).toFixed(1) : '0.0';
  const lines = [
    `move ${m.id}: volume ${m.volume}, ${describeMapping(m.source)} -> ${describeMapping(m.target)}`,
    `  phase ${m.phase}${m.paused ? ' (paused)' : ''}, ${percent}% (${formatSizeApprox(m.copiedBytes)} of ${formatSizeApprox(m.totalBytes)})`,
    `  rate ${formatSizeApprox(m.bytesPerSecond)}/s, eta ${m.etaSeconds ?? '-'} s, mirrored writes ${m.mirroredWrites}, dirty ${formatSizeApprox(m.dirtyBytes)}`,
  ];
  const rate = (bps: number | null | undefined) => (bps ? `${formatSizeApprox(bps)}/s` : 'none');
  lines.push(
    `  copy limit ${rate(m.options.throttle)}, while hosts use the volume ${rate(m.options.busyThrottle)}`,
  );
  if (m.options.verify)
    lines.push(`  verified ${formatSizeApprox(m.verifiedBytes)}, mismatches ${m.mismatches}`);
  if (m.cutoverPauseMs !== null)
    lines.push(`  cutover pause ${m.cutoverPauseMs} ms, epoch ${m.epoch} -> ${m.epoch + 1}`);
  if (m.error) lines.push(`  error: ${m.error}`);
  return `${lines.join('\n')}\n`;
}

function idCommand(verb: 'pause' | 'resume' | 'abort', summary: string): CtlCommand {
  const method = { pause: movePause, resume: moveResume, abort: moveAbort }[verb];
  return {
    words: ['move', verb],
    positionals: ['ID'],
    synopsis: '[--epoch N]',
    summary,
    options: { epoch: { type: 'string' } },
    async run({ args, params: [id], client }) {
      const expectEpoch = epochOption(args);
      const m = await client.call(method, { id, ...(expectEpoch !== undefined ? { expectEpoch } : {}) });
      return { json: m, human: describeMove(m) };
    },
  };
}

export const moveCommands: CtlCommand[] = [
  {
    words: ['move', 'start'],
    positionals: ['VOLUME'],
    synopsis:
      '(--to POOL/LV | --to nbds://HOST:PORT/EXPORT --psk-identity ID --psk-key HEX) [--chunk SIZE] [--throttle RATE] [--busy-throttle RATE] [--target-is-zero] [--verify] [--keep-source] [--epoch N]',
    summary:
      'move a volume to another LV while hosts keep using it; prints the move id. --target-is-zero: the target LV was just created and reads as zeroes, so zero regions are not sent (a wrong claim leaves old bytes where the volume has zeroes)',
    options: {
      to: { type: 'string' },
      'psk-identity': { type: 'string' },
      'psk-key': { type: 'string' },
      chunk: { type: 'string' },
      throttle: { type: 'string' },
      'busy-throttle': { type: 'string' },
      'target-is-zero': { type: 'boolean' },
      verify: { type: 'boolean' },
      'keep-source': { type: 'boolean' },
      epoch: { type: 'string' },
    },
    async run({ args, params: [volume], client, usage }) {
      validateName('volume', volume);
      const target = parseMoveTarget(args, usage);
      const chunk = stringOption(args, 'chunk');
      const throttle = stringOption(args, 'throttle');
      const busyThrottle = stringOption(args, 'busy-throttle');
      const expectEpoch = epochOption(args);
      const m = await client.call(moveStart, {
        volume,
        target,
        ...(chunk !== undefined ? { chunkSize: parseSize(chunk) } : {}),
        ...(throttle !== undefined ? { throttle: parseRate(throttle) } : {}),
        ...(busyThrottle !== undefined ? { busyThrottle: parseRate(busyThrottle) } : {}),
        ...(args.values.verify === true ? { verify: true } : {}),
        ...(args.values['keep-source'] === true ? { keepSource: true } : {}),
        ...(expectEpoch !== undefined ? { expectEpoch } : {}),
      });
      return { json: m, human: `${m.id}\n` };
    },
  },
  {
    words: ['move', 'list'],
    positionals: [],
    synopsis: '',
    summary: 'list the moves of this agent (running and ended)',
    async run({ client }) {
      const { moves } = await client.call(moveList, {});
      const human = renderTable(
        ['ID', 'VOLUME', 'PHASE', 'DONE', 'RATE', 'ETA', 'TARGET'],
        moves.map((m) => [
          m.id,
          m.volume,
          m.paused ? `${m.phase} (paused)` : m.phase,
          `${m.totalBytes > 0 ? Math.floor((m.copiedBytes / m.totalBytes) * 100) : 0}%`,
          `${formatSizeApprox(m.bytesPerSecond)}/s`,
          m.etaSeconds === null ? '-' : `${m.etaSeconds}s`,
          describeMapping(m.target),
        ]),
      );
      return { json: moves, human };
    },
  },
  {
    words: ['move', 'status'],
    positionals: ['ID'],
    synopsis: '',
    summary: 'show one move: phase, progress, rate, mirrored writes, cutover pause',
    async run({ params: [id], client }) {
      const m = await client.call(moveStatus, { id });
      return { json: m, human: describeMove(m) };
    },
  },
  idCommand('pause', 'pause the copy of a move (host writes stay mirrored)'),
  idCommand('resume', 'resume a paused move'),
  idCommand('abort', 'abort a move before cutover: the volume stays on its source, unchanged'),
  {
    words: ['move', 'throttle'],
    positionals: ['ID', 'RATE?'],
    synopsis: '[--busy-throttle RATE] [--epoch N]',
    summary:
      'limit the copy traffic of a move (e.g. 50M per second; 0 for no limit), and while hosts use the volume',
    options: { epoch: { type: 'string' }, 'busy-throttle': { type: 'string' } },
    async run({ args, params: [id, rate], client, usage }) {
      const expectEpoch = epochOption(args);
      const busyThrottle = stringOption(args, 'busy-throttle');
      if (rate === undefined && busyThrottle === undefined) {
        throw usageError('give RATE, --busy-throttle RATE or both', usage);
      }
      const m = await client.call(moveThrottle, {
        id,
        ...(rate !== undefined ? { throttle: parseRate(rate) } : {}),
        ...(busyThrottle !== undefined ? { busyThrottle: parseRate(busyThrottle) } : {}),
        ...(expectEpoch !== undefined ? { expectEpoch } : {}),
      });
      return { json: m, human: describeMove(m) };
    },
  },
  {
    words: ['lv', 'export'],
    positionals: ['POOL', 'NAME'],
    synopsis: '--psk-identity ID --psk-key HEX',
    summary: 'serve an LV to peer agents as export POOL/NAME, over TLS-PSK only (a move target)',
    options: { 'psk-identity': { type: 'string' }, 'psk-key': { type: 'string' } },
    async run({ args, params: [pool, name], client, usage }) {
      const pskIdentity = requireOption(args, 'psk-identity', usage);
      const pskKey = requireOption(args, 'psk-key', usage);
      const e = await client.call(lvExport, { pool, name, pskIdentity, pskKey });
      return {
        json: e,
        human: `LV ${pool}/${name} exported as ${e.export} (TLS-PSK identity ${e.pskIdentity})\n`,
      };
    },
  },
  {
    words: ['lv', 'unexport'],
    positionals: ['POOL', 'NAME'],
    synopsis: '',
    summary: 'stop serving an LV to peer agents',
    async run({ params: [pool, name], client }) {
      const result = await client.call(lvUnexport, { pool, name });
      return { json: result, human: `LV ${pool}/${name} is no longer exported\n` };
    },
  },
  {
    words: ['lv', 'exports'],
    positionals: [],
    synopsis: '',
    summary: 'list the LVs exported to peer agents',
    async run({ client }) {
      const { exports } = await client.call(lvExports, {});
      return {
        json: exports,
        human: renderTable(
          ['POOL', 'NAME', 'EXPORT', 'PSK IDENTITY'],
          exports.map((e) => [e.pool, e.name, e.export, e.pskIdentity]),
        ),
      };
    },
  },
];
