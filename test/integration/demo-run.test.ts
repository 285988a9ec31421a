// The README's run command: `ferry demo` moves a volume under live writes between two local
// appliances and verifies every block. This runs it as a user would (the CLI, a fresh folder).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/agent-bundle.js';

const run = promisify(execFile);

describe('ferry demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-demo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('moves the demo volume under live writes and verifies the data', async () => {
    const { stdout } = await run(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'ferry.mjs'), 'demo', '--dir', dir, '--size', '64M', '--json'],
      {
        timeout: 180_000,
      },
    );
    const lines = stdout.split('\n');
    const progress = lines
      .filter((l) => l.startsWith('{"type":"move.progress"'))
      .map((l) => JSON.parse(l).move);
    const summary = JSON.parse(lines.slice(lines.lastIndexOf('{')).join('\n'));
    expect(summary.dataVerified).toBe(true);
    expect(summary.move.phase).toBe('done');
    expect(summary.epochAfter).toBe(summary.epochBefore + 1);
    expect(summary.nowOn).toMatch(/^demo-2\/pool\//);
    expect(summary.host.writes).toBeGreaterThan(0);
    expect(summary.host.mismatches).toBe(0);
    expect(summary.host.verifiedBlocks).toBe(1024);
    expect(progress.length).toBeGreaterThan(0);
  });

  it('prints a readable summary on a terminal-less run', async () => {
    const { stdout } = await run(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'ferry.mjs'), 'demo', '--dir', dir, '--size', '32M'],
      {
        timeout: 180_000,
      },
    );
    expect(stdout).toMatch(/data\s+verified: every block holds what the host last wrote/);
    expect(stdout).toMatch(/cutover\s+host I\/O held for \d+(\.\d+)? ms/);
  });
});
