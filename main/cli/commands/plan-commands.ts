// `ferry plan ...`: migration plans made offline from the store's last inventory (create, add, remove,
// show, list, delete, export, import) and run later in a maintenance window (`plan run`).
import { readFileSync } from 'node:fs';
import type { PlanProgress } from '../../../shared/bridge/events.js';
import type { Move, Plan, PlanStep } from '../../../shared/bridge/model.js';
import { FerryError } from '../../../shared/errors.js';
import { parseRate } from '../../../shared/names.js';
import { runDepsOf } from '../../core/planner/plan-bridge.js';
import { runPlan } from '../../core/planner/plan-runner.js';
import { PlanService } from '../../core/planner/plan-service.js';
import { parseWindow } from '../../core/planner/run-window.js';
import { type Invocation, intOpt, parsePoolRef, requireStr, str } from '../cli-args.js';
import type { CliContext, Command } from '../cli-context.js';
import { age, size, table } from '../cli-output.js';
import { ProgressLine } from '../progress-bar.js';

async function plans(ctx: CliContext): Promise<PlanService> {
  return new PlanService((await ctx.core()).store);
}

function concurrencyOpt(inv: Invocation): number {
  const n = intOpt(inv, 'concurrency') ?? 1;
  if (n < 1 || n > 16) throw new FerryError('ERR_INVALID_ARGUMENT', '--concurrency must be 1 to 16');
  return n;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '?';
  if (seconds < 1) return '< 1 s';
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  const h = Math.floor(seconds / 3600);
  return `${h} h ${Math.round((seconds - h * 3600) / 60)} min`;
}

const ref = (r: { appliance: string; pool: string }) => `${r.appliance}/${r.pool}`;
const tableOf = (headers: string[], rows: string[][]) => table(headers, rows).trimEnd();

function estimateText(e: PlanStep['estimate']): string {
  return `${formatDuration(e.seconds)}${e.basis === 'guess' ? ' (guess)' : ''}`;
}

export function renderPlan(plan: Plan, concurrency = 1): string {
  const lines = [
    `plan ${plan.name}: ${plan.steps.length} ${plan.steps.length === 1 ? 'step' : 'steps'}, ` +
      `${plan.feasible ? 'feasible' : 'NOT feasible'}${plan.running ? ', running' : ''}`,
    `inventory as of: ${age(plan.inventoryAsOf)}${plan.inventoryAsOf ? ` (${plan.inventoryAsOf})` : ''}`,
    `estimate: about ${formatDuration(plan.estimate.seconds)}` +
      `${plan.estimate.basis === 'guess' ? ', a guess (no measured throughput on some links)' : ', from measured throughput'}` +
      ` with ${concurrency} ${concurrency === 1 ? 'move' : 'moves'} at once`,
    '',
  ];
  if (plan.steps.length === 0)
    return [...lines, `no steps yet: ferry plan add ${plan.name} VOLUME --to APPLIANCE/POOL`].join('\n');
  lines.push(
    tableOf(
      ['#', 'STEP', 'VOLUME', 'FROM', 'TO', 'SIZE', 'ALLOCATED', 'RESERVE', 'ESTIMATE', 'STATE', 'NOTE'],
      plan.steps.map((s) => [
        String(s.order),
        s.id,
        s.volume,
        ref(s.from),
        ref(s.to),
        size(s.sizeBytes),
        s.allocatedBytes === null ? '-' : size(s.allocatedBytes),
        `${size(s.reserveBytes)}${s.thin ? ' thin' : ''}`,
        s.state === 'done' || s.state === 'skipped' ? '-' : estimateText(s.estimate),
        s.state,
        s.reason ?? (s.staging ? 'staging hop' : (s.error?.message ?? '')),
      ]),
    ),
  );
  const usage = plan.steps.flatMap((s) =>
    s.capacity.map((c) => [
      String(s.order),
      ref(c),
      size(c.capacity),
      size(c.usedBefore),
      size(c.usedAfter),
      size(Math.max(0, c.capacity - c.usedAfter)),
    ]),
  );
  if (usage.length > 0)
    lines.push(
      '',
      'used space of the pools each step touches:',
      tableOf(['#', 'POOL', 'SIZE', 'BEFORE', 'AFTER', 'FREE AFTER'], usage),
    );
  if (plan.pools.length > 0) {
    lines.push(
      '',
      'whole plan:',
      tableOf(
        ['POOL', 'SIZE', 'USED BEFORE', 'USED AFTER', 'FREE AFTER'],
        plan.pools.map((p) => [
          ref(p),
          size(p.capacity),
          size(p.usedBefore),
          size(p.usedAfter),
          size(Math.max(0, p.capacity - p.usedAfter)),
        ]),
      ),
    );
  }
  if (plan.staging.length > 0)
    lines.push('', 'staging:', ...plan.staging.map((s) => `  - ${s.volume} via ${ref(s.via)}: ${s.reason}`));
  if (plan.warnings.length > 0) lines.push('', 'warnings:', ...plan.warnings.map((w) => `  - ${w}`));
  return lines.join('\n');
}

export const planCommands: Command[] = [
  {
    path: ['plan', 'create'],
    usage: 'ferry plan create NAME [--throttle RATE] [--verify] [--keep-source]',
    summary: 'start a migration plan (works offline)',
    args: ['NAME'],
    options: {
      throttle: { type: 'string' },
      verify: { type: 'boolean' },
      'keep-source': { type: 'boolean' },
    },
    async run(ctx, inv) {
      const throttle = str(inv, 'throttle');
      const plan = (await plans(ctx)).create(inv.positionals[0], {
        throttleBps: throttle === undefined ? null : parseRate(throttle),
        verify: inv.values.verify === true,
        keepSource: inv.values['keep-source'] === true,
      });
      ctx.out.result(
        plan,
        (p) => `plan ${p.name} created: add steps with ferry plan add ${p.name} VOLUME --to APPLIANCE/POOL`,
      );
      return 0;
    },
  },
  {
    path: ['plan', 'add'],
    usage: 'ferry plan add NAME VOLUME --to APPLIANCE/POOL [--thin]',
    summary: 'add a move to a plan (--thin reserves the allocated bytes, not the full size)',
    args: ['NAME', 'VOLUME'],
    options: { to: { type: 'string' }, thin: { type: 'boolean' } },
    async run(ctx, inv) {
      const [name, volume] = inv.positionals;
      const target = parsePoolRef(requireStr(inv, 'to'));
      const plan = (await plans(ctx)).addStep(name, { volume, to: target, thin: inv.values.thin === true });
      ctx.out.result(plan, (p) => renderPlan(p));
      return 0;
    },
  },
  {
    path: ['plan', 'remove'],
    usage: 'ferry plan remove NAME STEP',
    summary: 'remove a step from a plan (STEP as ferry plan show lists it)',
    args: ['NAME', 'STEP'],
    async run(ctx, inv) {
      const plan = (await plans(ctx)).removeStep(inv.positionals[0], inv.positionals[1]);
      ctx.out.result(plan, (p) => renderPlan(p));
      return 0;
    },
  },
  {
    path: ['plan', 'show'],
    usage: 'ferry plan show NAME [--concurrency N]',
    summary: 'the steps in run order, pool space before and after each, estimates and warnings',
    args: ['NAME'],
    options: { concurrency: { type: 'string' } },
    async run(ctx, inv) {
      const concurrency = concurrencyOpt(inv);
      const plan = (await plans(ctx)).show(inv.positionals[0], concurrency);
      ctx.out.result(plan, (p) => renderPlan(p, concurrency));
      return 0;
    },
  },
  {
    path: ['plan', 'list'],
    usage: 'ferry plan list',
    summary: 'the saved plans',
    async run(ctx) {
      const list = (await plans(ctx)).list();
      ctx.out.result(list, (l) =>
        l.length === 0
          ? 'no plans: start one with ferry plan create NAME'
          : table(
              ['PLAN', 'STEPS', 'CHANGED', 'LAST RUN'],
              l.map((p) => [
                p.name,
                String(p.steps),
                age(p.updatedAt),
                p.lastRun ? `${p.lastRun.state}, ${age(p.lastRun.at)}` : 'never',
              ]),
            ),
      );
      return 0;
    },
  },
  {
    path: ['plan', 'delete'],
    usage: 'ferry plan delete NAME',
    summary: 'delete a plan (moves it already made stay made)',
    args: ['NAME'],
    async run(ctx, inv) {
      (await plans(ctx)).delete(inv.positionals[0]);
      ctx.out.result({ deleted: inv.positionals[0] }, (r) => `plan ${r.deleted} deleted`);
      return 0;
    },
  },
  {
    path: ['plan', 'export'],
    usage: 'ferry plan export NAME',
    summary: 'print a plan as JSON (for ferry plan import)',
    args: ['NAME'],
    async run(ctx, inv) {
      // JSON either way: the export is meant for files and other consoles.
      process.stdout.write((await plans(ctx)).export(inv.positionals[0]));
      return 0;
    },
  },
  {
    path: ['plan', 'import'],
    usage: 'ferry plan import FILE [--name NAME]   (FILE - reads stdin)',
    summary: 'import a plan exported by ferry plan export',
    args: ['FILE'],
    options: { name: { type: 'string' } },
    async run(ctx, inv) {
      const file = inv.positionals[0];
      let json: string;
      try {
        json = readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        throw new FerryError('ERR_NOT_FOUND', `cannot read ${file}: ${(err as Error).message}`);
      }
      const plan = (await plans(ctx)).import(json, str(inv, 'name'));
      ctx.out.result(plan, (p) => `plan ${p.name} imported\n\n${renderPlan(p)}`);
      return 0;
    },
  },
  {
    path: ['plan', 'run'],
    usage: 'ferry plan run NAME [--concurrency N] [--window HH:MM-HH:MM]',
    summary: 're-check a plan against the agents and run it (continues an interrupted run)',
    args: ['NAME'],
    options: { concurrency: { type: 'string' }, window: { type: 'string' } },
    async run(ctx, inv) {
      const name = inv.positionals[0];
      const concurrency = concurrencyOpt(inv);
      const windowText = str(inv, 'window');
      const window = windowText === undefined ? null : parseWindow(windowText);
      const core = await ctx.core();
      const display = new RunDisplay(ctx);
      const abort = new AbortController();
      const onSigint = () => {
        abort.abort();
        display.note(
          'stopping: no new moves start; running ones go on (Ctrl-C again leaves them to the agents)',
        );
      };
      process.once('SIGINT', onSigint);
      try {
        const result = await runPlan(runDepsOf(core), name, {
          concurrency,
          window,
          signal: abort.signal,
          observer: display,
        });
        display.end();
        ctx.out.result(result, (r) => `${r.message}\n\n${renderPlan(r.plan, concurrency)}`);
        return result.state === 'done' ? 0 : result.state === 'failed' ? 13 : 0;
      } finally {
        process.off('SIGINT', onSigint);
        display.end();
      }
    },
  },
];

/** One progress line for the whole run (bytes of the running moves), notes above it; JSON lines with --json. */
class RunDisplay {
  private readonly line = new ProgressLine();
  private readonly moves = new Map<string, { done: number; total: number; rate: number }>();
  private running = 0;
  private finished = 0;
  private total = 0;

  constructor(private readonly ctx: CliContext) {}

  onPlan(progress: PlanProgress): void {
    this.ctx.out.jsonLine({ type: 'plan.progress', payload: progress });
    this.total = progress.steps.length;
    this.running = progress.steps.filter((s) => s.state === 'running').length;
    this.finished = progress.steps.filter((s) => s.state === 'done' || s.state === 'skipped').length;
    this.draw();
  }

  onMove(hop: { id: string }, move: Move): void {
    this.ctx.out.jsonLine({ type: 'move.progress', step: hop.id, payload: move });
    const ended = move.phase === 'done' || move.phase === 'failed' || move.phase === 'aborted';
    this.moves.set(move.id, {
      done: move.phase === 'done' ? move.bytesTotal : move.bytesDone,
      total: move.bytesTotal,
      rate: ended ? 0 : move.rateBps,
    });
    this.draw();
  }

  onNote(text: string): void {
    this.note(text);
  }

  note(text: string): void {
    this.ctx.out.jsonLine({ type: 'note', text });
    if (this.ctx.out.json) return;
    if (this.line.interactive) process.stderr.write('\r\x1b[2K');
    this.ctx.out.note(text);
    this.draw();
  }

  end(): void {
    if (this.line.interactive && this.moves.size > 0) process.stderr.write('\r\x1b[2K');
    this.moves.clear();
  }

  private draw(): void {
    if (this.ctx.out.json || this.moves.size === 0) return;
    const all = [...this.moves.values()];
    const total = all.reduce((s, m) => s + m.total, 0);
    const done = all.reduce((s, m) => s + m.done, 0);
    const rate = all.reduce((s, m) => s + m.rate, 0);
    this.line.update({
      label: 'plan',
      phase: `${this.finished}/${this.total} done, ${this.running} running`,
      percent: total > 0 ? (done / total) * 100 : 0,
      rateBps: rate,
      etaSeconds: rate > 0 ? (total - done) / rate : null,
    });
  }
}
