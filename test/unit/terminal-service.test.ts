// TerminalService on scripted sessions: output coalesced into few events and never split inside a
// character, one exit event, unknown ids refused with what to do, the session cap, and shutdown.

import { describe, expect, it } from 'vitest';
import { TerminalService } from '../../main/core/terminal/terminal-service.js';
import type { TerminalSession } from '../../main/core/terminal/terminal-session.js';
import type { BridgeEvent } from '../../shared/bridge/index.js';
import { FerryError } from '../../shared/errors.js';

/** A session the test drives: `output` pushes text as the shell would, `exit` ends it. */
function scriptedSession() {
  const data: Array<(d: string) => void> = [];
  const exits: Array<(c: number | null) => void> = [];
  const written: string[] = [];
  const sizes: Array<{ cols: number; rows: number }> = [];
  let closed = false;
  const session: TerminalSession = {
    write: (d) => written.push(d),
    resize: (s) => sizes.push(s),
    close: () => {
      if (closed) return;
      closed = true;
      for (const l of exits) l(null);
    },
    onData: (l) => data.push(l),
    onExit: (l) => exits.push(l),
  };
  return {
    session,
    written,
    sizes,
    output: (text: string) => {
      for (const l of data) l(text);
    },
    exit: (code: number) => {
      closed = true;
      for (const l of exits) l(code);
    },
  };
}

function serviceWith(sessions: ReturnType<typeof scriptedSession>[], maxSessions?: number) {
  const events: BridgeEvent[] = [];
  let next = 0;
  const service = new TerminalService({
    openers: {
      local: async () => sessions[next++].session,
      appliance: async () => sessions[next++].session,
    },
    emit: (e) => events.push(e),
    maxSessions,
    flushDelayMs: 5,
  });
  return { service, events };
}

const dataOf = (events: BridgeEvent[]) =>
  events.filter((e): e is Extract<BridgeEvent, { type: 'terminal.data' }> => e.type === 'terminal.data');

describe('TerminalService', () => {
  it('coalesces a burst of output into one event, forwards input and sizes, ends with one exit', async () => {
    const shell = scriptedSession();
    const { service, events } = serviceWith([shell]);
    const { id } = await service.start({ kind: 'local' }, { cols: 80, rows: 24 });
    for (let i = 0; i < 1000; i++) shell.output(`line ${i}\r\n`);
    await new Promise((r) => setTimeout(r, 30));
    expect(dataOf(events)).toHaveLength(1);
    expect(dataOf(events)[0].payload.data.split('\r\n')).toHaveLength(1001);
    service.write(id, 'ls\r');
    service.resize(id, { cols: 120, rows: 40 });
    expect(shell.written).toEqual(['ls\r']);
    expect(shell.sizes).toEqual([{ cols: 120, rows: 40 }]);
    shell.output('bye');
    shell.exit(0);
    expect(events.at(-2)).toEqual({ type: 'terminal.data', payload: { id, data: 'bye' } });
    expect(events.at(-1)).toEqual({ type: 'terminal.exit', payload: { id, code: 0 } });
    expect(service.count).toBe(0);
  });

  it('never splits a surrogate pair between two events', async () => {
    const shell = scriptedSession();
    const { service, events } = serviceWith([shell]);
    await service.start({ kind: 'local' }, { cols: 80, rows: 24 });
    // 256 Ki code units is one event's limit: put an emoji (two code units) across it.
    shell.output(`${'a'.repeat(256 * 1024 - 1)}😀tail`);
    await new Promise((r) => setTimeout(r, 30));
    const chunks = dataOf(events).map((e) => e.payload.data);
    expect(chunks).toHaveLength(2);
    expect(chunks[0].endsWith('a')).toBe(true);
    expect(chunks[1]).toBe('😀tail');
  });

  it('refuses unknown ids with what to do; closing twice is fine', async () => {
    const shell = scriptedSession();
    const { service } = serviceWith([shell]);
    const { id } = await service.start({ kind: 'appliance', appliance: 'box-1' }, { cols: 80, rows: 24 });
    service.close(id);
    service.close(id);
    expect(() => service.write(id, 'x')).toThrowError(/is not open .*open a new one/);
    let refused: unknown = null;
    try {
      service.resize('tnope', { cols: 80, rows: 24 });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(FerryError);
    expect((refused as FerryError).code).toBe('ERR_NOT_FOUND');
  });

  it('caps the sessions open at once, and refuses new ones once closed', async () => {
    const shells = [scriptedSession(), scriptedSession(), scriptedSession()];
    const { service } = serviceWith(shells, 2);
    await service.start({ kind: 'local' }, { cols: 80, rows: 24 });
    await service.start({ kind: 'local' }, { cols: 80, rows: 24 });
    await expect(service.start({ kind: 'local' }, { cols: 80, rows: 24 })).rejects.toThrow(
      /2 terminals are open/,
    );
    service.closeAll();
    expect(service.count).toBe(0);
    await expect(service.start({ kind: 'local' }, { cols: 80, rows: 24 })).rejects.toMatchObject({
      code: 'ERR_SHUTTING_DOWN',
    });
  });
});
