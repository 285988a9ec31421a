// Extra evidence from util-linux where it is installed: `blkid -p -o export DEV` (the low-level
// superblock probe, cache bypassed) and `wipefs --no-act --json DEV` (every signature with its
// offset). Neither is required: the magic scan in disk-signatures.ts stands alone; these catch the
// formats it does not know.

import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { type DiskSignature, kindOfType, withoutUndefined } from './disk-signatures.js';

const SEARCH_PATH = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
const TIMEOUT_MS = 10_000;

export interface ProbeResult {
  signatures: DiskSignature[];
  /** Tools that ran, for the log ('blkid', 'wipefs'). */
  tools: string[];
  /** Tools that were present but failed, with why (a probe that fails is not a verdict). */
  failures: string[];
}

export async function probeWithUtilLinux(device: string): Promise<ProbeResult> {
  const result: ProbeResult = { signatures: [], tools: [], failures: [] };
  const blkid = await findTool('blkid');
  if (blkid) {
    const out = await run(blkid, ['-p', '-o', 'export', device]);
    // blkid exits 2 when it finds nothing: that is an answer, not a failure.
    if (out.ok || out.exitCode === 2) {
      result.tools.push('blkid');
      result.signatures.push(...parseBlkidExport(out.stdout));
    } else result.failures.push(`blkid: ${out.error}`);
  }
  const wipefs = await findTool('wipefs');
  if (wipefs) {
    const out = await run(wipefs, ['--no-act', '--json', device]);
    if (out.ok) {
      result.tools.push('wipefs');
      result.signatures.push(...parseWipefsJson(out.stdout));
    } else result.failures.push(`wipefs: ${out.error}`);
  }
  return result;
}

/** Parses `blkid -p -o export` (KEY=value lines): TYPE is the content, PTTYPE a partition table. */
export function parseBlkidExport(text: string): DiskSignature[] {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const found: DiskSignature[] = [];
  const type = fields.get('TYPE');
  if (type) {
    found.push(
      withoutUndefined({
        type,
        kind: kindOfType(type, fields.get('USAGE')),
        uuid: fields.get('UUID'),
        label: fields.get('LABEL'),
      }),
    );
  }
  const ptType = fields.get('PTTYPE');
  if (ptType)
    found.push(withoutUndefined({ type: ptType, kind: 'partition-table', uuid: fields.get('PTUUID') }));
  return found;
}

interface WipefsSignature {
  offset?: unknown;
  type?: unknown;
  uuid?: unknown;
  label?: unknown;
}

/** Parses `wipefs --json`: { signatures: [{ device, offset: '0x438', type, uuid, label }] }. */
export function parseWipefsJson(text: string): DiskSignature[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const list = (doc as { signatures?: unknown }).signatures;
  if (!Array.isArray(list)) return [];
  const found: DiskSignature[] = [];
  for (const raw of list as WipefsSignature[]) {
    if (typeof raw?.type !== 'string' || raw.type === '') continue;
    const offset = typeof raw.offset === 'string' ? Number(raw.offset) : undefined;
    found.push(
      withoutUndefined({
        type: raw.type,
        kind: kindOfType(raw.type),
        offset: Number.isSafeInteger(offset) ? offset : undefined,
        uuid: typeof raw.uuid === 'string' ? raw.uuid : undefined,
        label: typeof raw.label === 'string' ? raw.label : undefined,
      }),
    );
  }
  return found;
}

async function findTool(name: string): Promise<string | undefined> {
  for (const dir of SEARCH_PATH) {
    const path = `${dir}/${name}`;
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not here; try the next folder
    }
  }
  return undefined;
}

interface RunResult {
  ok: boolean;
  exitCode?: number;
  stdout: string;
  error?: string;
}

function run(file: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: TIMEOUT_MS, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (!err) return resolve({ ok: true, exitCode: 0, stdout });
        const exitCode = typeof err.code === 'number' ? err.code : undefined;
        const why = err.killed ? `timed out after ${TIMEOUT_MS} ms` : stderr.trim() || err.message;
        resolve({ ok: false, exitCode, stdout, error: why });
      },
    );
  });
}
