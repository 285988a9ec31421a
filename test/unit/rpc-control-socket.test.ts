// The control socket path: a live agent's socket is refused, a stale one removed, a file that is
// not a socket never replaced, a too-long path named; the socket is created with mode 0600.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listenPrivate, prepareSocketPath } from '../../agent/rpc/control-socket.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-sock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('control socket path', () => {
  it('listens with mode 0600 and refuses a path where a server answers', async () => {
    const path = join(dir, 'agent.sock');
    const server = createServer((s) => s.end());
    await listenPrivate(server, path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await expect(prepareSocketPath(path)).rejects.toMatchObject({ code: 'ERR_ALREADY_EXISTS' });
    await new Promise((r) => server.close(r));
  });

  it('refuses to replace a regular file and names an overlong path', async () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'keep me');
    await expect(prepareSocketPath(file)).rejects.toThrow(/is not a socket; refusing to replace it/);
    await expect(prepareSocketPath(join(dir, 'x'.repeat(120)))).rejects.toThrow(/the limit is 107/);
    await expect(prepareSocketPath(join(dir, 'absent.sock'))).resolves.toBeUndefined();
  });
});
