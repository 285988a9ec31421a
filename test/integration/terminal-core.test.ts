// The console's terminals without any shell: a local shell through node-pty and an appliance shell over
// a real sshd (host key pinned in a real store), driven through TerminalService as the bridge does.
// Each test types a command and waits for its output line, as an admin would see it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../main/core/store/index.js';
import { type ConsoleTerminals, createConsoleTerminals } from '../../main/core/terminal/console-terminals.js';
import type { BridgeEvent } from '../../shared/bridge/index.js';
import { FerryError } from '../../shared/errors.js';
import { type SshdFixture, startSshd } from '../helpers/sshd-fixture.js';
import { screenLines } from '../helpers/terminal-screen.js';

/** Collects each terminal's output and exit from the events the service emits. */
function eventLog() {
  const output = new Map<string, string>();
  const exits = new Map<string, number | null>();
  const emit = (event: BridgeEvent) => {
    if (event.type === 'terminal.data') {
      output.set(event.payload.id, (output.get(event.payload.id) ?? '') + event.payload.data);
    } else if (event.type === 'terminal.exit') exits.set(event.payload.id, event.payload.code);
  };
  /** Waits until the terminal shows a line that is exactly `line`. */
  const waitFor = async (id: string, line: string, timeoutMs = 10_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const text = output.get(id) ?? '';
      if (screenLines(text).includes(line)) return text;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(
      `no line ${JSON.stringify(line)} in terminal ${id} within ${timeoutMs} ms; got ${JSON.stringify(output.get(id))}`,
    );
  };
  const waitExit = async (id: string, timeoutMs = 10_000): Promise<number | null> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exits.has(id)) return exits.get(id) ?? null;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`terminal ${id} did not exit within ${timeoutMs} ms`);
  };
  return { emit, waitFor, waitExit, output };
}

let dir: string;
let store: Store;
let terminals: ConsoleTerminals | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-terminal-'));
  store = openStore({ path: join(dir, 'ferry.db') });
});
afterEach(async () => {
  await terminals?.close();
  terminals = undefined;
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function terminalsWith(log: ReturnType<typeof eventLog>): ConsoleTerminals {
  terminals = createConsoleTerminals(
    { store, appliances: { connectOptionsFor: () => ({}) } as never },
    log.emit,
  );
  return terminals;
}

describe('local terminal (node-pty)', () => {
  it('runs the admin’s shell: echo hi prints hi, UTF-8 and resize reach the shell', async () => {
    const log = eventLog();
    const { service } = terminalsWith(log);
    const { id } = await service.start({ kind: 'local' }, { cols: 80, rows: 24 });
    service.write(id, 'echo hi\r');
    await log.waitFor(id, 'hi');
    service.write(id, "printf '\\303\\251t\\303\\251 \\342\\234\\223\\n'\r");
    await log.waitFor(id, 'été ✓');
    service.resize(id, { cols: 100, rows: 30 });
    service.write(id, 'stty size\r');
    await log.waitFor(id, '30 100');
    service.write(id, 'exit 3\r');
    expect(await log.waitExit(id)).toBe(3);
    expect(() => service.write(id, 'x')).toThrowError(FerryError);
    service.close(id); // closing an ended terminal is not an error
  });
});

describe('appliance terminal over SSH', () => {
  let sshd: SshdFixture;
  beforeAll(async () => {
    sshd = await startSshd({ host: '127.0.0.13' });
    store.appliances.add({
      name: 'box-1',
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      auth: { kind: 'key', identityFile: sshd.userKeyPath },
      agentDir: join(sshd.dir, 'agent'),
      nbdListen: `${sshd.host}:10809`,
    });
    store.appliances.pinHostKey('box-1', sshd.hostKeyFingerprint(), 'ssh-ed25519');
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('opens a login shell on the appliance: echo hi prints hi, stty size follows resize', async () => {
    const log = eventLog();
    const { service } = terminalsWith(log);
    const { id } = await service.start({ kind: 'appliance', appliance: 'box-1' }, { cols: 90, rows: 20 });
    service.write(id, 'echo hi\r');
    await log.waitFor(id, 'hi');
    service.resize(id, { cols: 120, rows: 40 });
    service.write(id, 'stty size; exit\r');
    await log.waitFor(id, '40 120');
    expect(await log.waitExit(id)).toBe(0);
  });

  it('refuses an appliance whose host key changed (ERR_HOST_KEY), opening nothing', async () => {
    const log = eventLog();
    const { service } = terminalsWith(log);
    store.appliances.pinHostKey('box-1', `SHA256:${'A'.repeat(43)}`, 'ssh-ed25519');
    try {
      const err = await service.start({ kind: 'appliance', appliance: 'box-1' }, { cols: 80, rows: 24 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FerryError);
      expect((err as FerryError).code).toBe('ERR_HOST_KEY');
      expect(service.count).toBe(0);
    } finally {
      store.appliances.pinHostKey('box-1', sshd.hostKeyFingerprint(), 'ssh-ed25519');
    }
  });
});
