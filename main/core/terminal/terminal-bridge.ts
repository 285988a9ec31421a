// The terminal methods of the bridge contract over a TerminalService, for the core's bridge handler
// (spread into bridgeMethodsOf like planBridgeMethods). Params arrive validated by the shell.

import type { BridgeMethodImplementations } from '../../../shared/bridge/handler.js';
import type { TerminalService } from './terminal-service.js';

type TerminalMethodName = 'terminal.open' | 'terminal.write' | 'terminal.resize' | 'terminal.close';

export function terminalBridgeMethods(
  terminals: TerminalService,
): Pick<BridgeMethodImplementations, TerminalMethodName> {
  return {
    'terminal.open': ({ target, cols, rows }) => terminals.start(target, { cols, rows }),
    'terminal.write': async ({ id, data }) => {
      terminals.write(id, data);
      return { ok: true };
    },
    'terminal.resize': async ({ id, cols, rows }) => {
      terminals.resize(id, { cols, rows });
      return { ok: true };
    },
    'terminal.close': async ({ id }) => {
      terminals.close(id);
      return { ok: true };
    },
  };
}
