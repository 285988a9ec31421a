// A one-line progress bar for terminals: phase, bar, percent, rate, ETA; redrawn in place.
import { formatSizeApprox } from '../../shared/names.js';

export interface ProgressFrame {
  label: string;
  phase: string;
  percent: number;
  rateBps?: number | null;
  etaSeconds?: number | null;
  extra?: string;
}

export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export function renderProgress(frame: ProgressFrame, width = 30): string {
  const pct = Math.max(0, Math.min(100, frame.percent));
  const filled = Math.round((pct / 100) * width);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
  const rate = frame.rateBps ? `${formatSizeApprox(frame.rateBps)}/s` : '';
  return [
    frame.label,
    frame.phase.padEnd(9),
    `[${bar}]`,
    `${pct.toFixed(1).padStart(5)}%`,
    rate.padStart(9),
    `ETA ${formatEta(frame.etaSeconds)}`,
    frame.extra ?? '',
  ]
    .join(' ')
    .trimEnd();
}

export class ProgressLine {
  private last = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  get interactive(): boolean {
    return this.stream.isTTY === true;
  }

  update(frame: ProgressFrame): void {
    const line = renderProgress(frame);
    if (line === this.last) return;
    this.last = line;
    if (this.interactive) this.stream.write(`\r\x1b[2K${line}`);
  }

  /** Ends the line (prints the last frame on non-TTYs, so logs show the final state). */
  done(frame?: ProgressFrame): void {
    const line = frame ? renderProgress(frame) : this.last;
    if (this.interactive) this.stream.write(`\r\x1b[2K${line}\n`);
    else if (line) this.stream.write(`${line}\n`);
    this.last = '';
  }
}
