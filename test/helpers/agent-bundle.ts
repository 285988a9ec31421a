// The agent bundle for tests that run or deploy it: builds dist/ferry-agent.mjs when missing and
// hands out a private copy, so another engineer rebuilding dist/ mid-run cannot change what a test
// deployed (deploy identifies an agent by the bundle's hash).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const AGENT_BUNDLE = join(REPO_ROOT, 'dist', 'ferry-agent.mjs');

/** The copy worker's code, built as build-agent.mjs embeds it in the bundle. */
export async function remoteWorkerCode(): Promise<string> {
  const { buildRemoteWorkerCode } = await import(join(REPO_ROOT, 'build', 'remote-worker-code.mjs'));
  return buildRemoteWorkerCode();
}

export function copyAgentBundle(toDir: string): string {
  if (!existsSync(AGENT_BUNDLE))
    execFileSync(process.execPath, [join(REPO_ROOT, 'build', 'build-agent.mjs')]);
  const copy = join(toDir, 'ferry-agent.mjs');
  copyFileSync(AGENT_BUNDLE, copy);
  return copy;
}
