// Crash consistency of the state store: a process rewriting a document in a loop is killed with
// SIGKILL at random moments; every time, the document still parses and is one whole version (its
// checksum field matches its body), and no temp file survives the next open.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../agent/state/state-store.js';
import { REPO_ROOT } from '../helpers/agent-bundle.js';

let dir: string;
let writer: string;

const DRIVER = `
import { createHash } from 'node:crypto';
import { StateStore } from './agent/state/state-store.ts';
const store = await StateStore.open(process.argv[2]);
process.stdout.write('ready\\n');
for (let n = 1; ; n++) {
  const body = 'x'.repeat(200_000 + (n % 7) * 10_000) + n;
  const sum = createHash('sha256').update(body).digest('hex');
  await store.write('doc', { n, body, sum });
}
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-statekill-'));
  writer = join(dir, 'writer.mjs');
  await build({
    stdin: { contents: DRIVER, resolveDir: REPO_ROOT, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: writer,
    logLevel: 'silent',
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function startWriter(stateDir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, stateDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout?.once('data', () => resolve(child));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
}

describe('state store under kill -9', () => {
  it('always leaves one whole version of a document', async () => {
    const stateDir = join(dir, 'state');
    let last = 0;
    for (let round = 0; round < 12; round++) {
      const child = await startWriter(stateDir);
      await new Promise((r) => setTimeout(r, 30 + Math.floor(Math.random() * 120)));
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
      const doc = JSON.parse(readFileSync(join(stateDir, 'doc.json'), 'utf8')) as {
        n: number;
        body: string;
        sum: string;
      };
      expect(createHash('sha256').update(doc.body).digest('hex')).toBe(doc.sum);
      expect(doc.body.endsWith(String(doc.n))).toBe(true);
      last = doc.n;
    }
    expect(last).toBeGreaterThan(0);
    const store = await StateStore.open(stateDir);
    expect(readdirSync(stateDir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await store.close();
  });
});
