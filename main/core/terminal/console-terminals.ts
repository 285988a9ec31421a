// The console core's terminals: local shells through node-pty and appliance shells over SSH with the
// host key pinned in the store (the same check every other SSH use makes). One SSH connection per
// appliance is kept for its terminals and closed with the last of them. Lab appliances run on this
// machine, so their "appliance terminal" is a local shell in the lab appliance's folder.

import { existsSync } from 'node:fs';
import type { BridgeEvent } from '../../../shared/bridge/index.js';
import type { ConsoleCore } from '../console/console-core.js';
import { connectAppliance } from '../ssh/appliance-connection.js';
import type { SshConnection } from '../ssh/connection.js';
import { openLocalTerminal } from './local-terminal.js';
import { openSshTerminal } from './ssh-terminal.js';
import { TerminalService } from './terminal-service.js';
import type { TerminalSession, TerminalSize } from './terminal-session.js';

export interface ConsoleTerminals {
  service: TerminalService;
  /** Ends every terminal and closes their SSH connections (idempotent). */
  close(): Promise<void>;
}

export function createConsoleTerminals(
  core: Pick<ConsoleCore, 'store' | 'appliances'>,
  emit: (event: BridgeEvent) => void,
): ConsoleTerminals {
  const connections = new Map<string, { ssh: Promise<SshConnection>; users: number }>();

  const sshFor = (name: string): { ssh: Promise<SshConnection>; users: number } => {
    let kept = connections.get(name);
    if (!kept) {
      const appliance = core.store.appliances.require(name);
      const ssh = connectAppliance(core.store, name, core.appliances.connectOptionsFor(appliance));
      kept = { ssh, users: 0 };
      connections.set(name, kept);
      ssh.catch(() => connections.delete(name));
    }
    return kept;
  };

  const release = (name: string, kept: { ssh: Promise<SshConnection>; users: number }): void => {
    kept.users--;
    if (kept.users > 0 || connections.get(name) !== kept) return;
    connections.delete(name);
    kept.ssh.then((ssh) => ssh.close()).catch(() => {});
  };

  const applianceTerminal = async (name: string, size: TerminalSize): Promise<TerminalSession> => {
    const appliance = core.store.appliances.require(name);
    if (appliance.transport === 'local') {
      return openLocalTerminal({
        ...size,
        cwd: existsSync(appliance.agentDir) ? appliance.agentDir : undefined,
      });
    }
    const kept = sshFor(name);
    kept.users++;
    let session: TerminalSession;
    try {
      session = await openSshTerminal(await kept.ssh, size);
    } catch (err) {
      release(name, kept);
      throw err;
    }
    session.onExit(() => release(name, kept));
    return session;
  };

  const service = new TerminalService({
    openers: { local: (size) => openLocalTerminal(size), appliance: applianceTerminal },
    emit,
  });

  return {
    service,
    async close() {
      service.closeAll();
      const all = [...connections.values()];
      connections.clear();
      await Promise.all(all.map((k) => k.ssh.then((ssh) => ssh.close()).catch(() => {})));
    },
  };
}
