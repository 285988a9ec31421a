// Old agent bundles on an appliance: every deploy of a new version leaves AGENT_DIR/<sha256>/ of the
// one before. Once the new agent answers, the others are removed, so years of upgrades do not pile
// up on a small appliance's disk. Only directories named by a full sha256 are touched: the state
// dir, the log and the bundled runtimes (AGENT_DIR/runtime/) live beside them and stay.

import type { SshConnection } from '../ssh/connection.js';
import { shellQuote } from '../ssh/shell-quote.js';

const SHA256_DIR = /^[0-9a-f]{64}$/;

/** Removes AGENT_DIR/<sha256>/ except `keep`'s; resolves with the sha256s removed. */
export async function pruneOldBundles(ssh: SshConnection, agentDir: string, keep: string): Promise<string[]> {
  if (!SHA256_DIR.test(keep)) throw new Error(`not a bundle sha256: ${keep}`);
  const script = [
    `cd ${shellQuote(agentDir)} || exit 0`,
    'for d in */; do',
    '  n=$(basename "$d")',
    // A name of exactly 64 lowercase hex digits is a bundle directory; anything else is not ours to remove.
    '  case "$n" in *[!0-9a-f]*) continue;; esac',
    '  [ "$(printf %s "$n" | wc -c)" -eq 64 ] || continue',
    `  [ "$n" = ${shellQuote(keep)} ] && continue`,
    '  rm -rf -- "$n" && echo "removed=$n"',
    'done',
    'true',
  ].join('\n');
  const out = await ssh.run(script, { timeoutMs: 30_000 });
  return out
    .split('\n')
    .filter((line) => line.startsWith('removed='))
    .map((line) => line.slice('removed='.length))
    .filter((sha) => SHA256_DIR.test(sha));
}
