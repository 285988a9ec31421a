// The console core behind the bridge contract (shared/bridge/): one implementation per method, used
// unchanged by the browser shell and the Electron app. The shells validate params and results against
// the contract; this only maps calls onto the core's services.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { BridgeHandler, BridgeMethodImplementations } from '../../../shared/bridge/handler.js';
import { bridgeHandlerFrom } from '../../../shared/bridge/handler.js';
import { planBridgeMethods } from '../planner/plan-bridge.js';
import { terminalBridgeMethods } from '../terminal/terminal-bridge.js';
import type { ConsoleCore } from './console-core.js';
import { getVolumeAccess, setVolumeAccess } from './volume-access.js';

/** '~/.ssh/id_ed25519' as people type it in the add dialog (no shell expands it there). */
export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

export function bridgeMethodsOf(core: ConsoleCore): BridgeMethodImplementations {
  return {
    'console.info': async () => core.info(),
    'inventory.get': async () => core.inventory(),
    'inventory.refresh': async ({ appliance }) => (await core.refresh(appliance)).inventory,

    'appliance.scanHostKey': ({ host, port }) => core.appliances.scanHostKey(host, port),
    'appliance.add': (params) =>
      core.appliances.add({
        name: params.name,
        host: params.host,
        port: params.port,
        user: params.user,
        auth:
          params.auth.kind === 'key'
            ? { ...params.auth, identityFile: expandHome(params.auth.identityFile) }
            : params.auth,
        acceptHostKey: params.acceptHostKey,
        agentDir: params.agentDir,
        nbdListen: params.nbdListen,
      }),
    'appliance.remove': async ({ name }) => {
      await core.appliances.remove(name);
      return { ok: true };
    },
    'appliance.check': async ({ name }) => {
      const check = await core.appliances.check(name);
      return {
        reachable: check.reachable,
        agentVersion: check.agentVersion,
        latencyMs: check.latencyMs,
        message: check.message,
      };
    },

    'pool.add': (params) => core.addPool(params),
    'volume.create': (params) => core.createVolume(params),
    'volume.history': async ({ volume }) => core.volumeHistory(volume),
    'volume.access.get': async ({ volume }) => (await getVolumeAccess(core.store, core.links, volume)).policy,
    'volume.access.set': async ({ volume, ...change }) => {
      const result = await setVolumeAccess(core.store, core.links, volume, change);
      return { ...result.policy, disconnected: result.disconnected };
    },

    'move.preflight': ({ volume, to, thin }) => core.moves.preflight({ volume, to, thin }),
    'move.start': async (params) => {
      const move = await core.moves.start(params);
      // The move runs on the agents; following it here keeps progress events flowing to every window
      // and finishes the bookkeeping (mapping, history) when it ends.
      core.moves.follow(move.id).catch(() => {});
      return move;
    },
    'move.pause': ({ id }) => core.moves.pause(id),
    'move.resume': ({ id }) => core.moves.resume(id),
    'move.abort': ({ id }) => core.moves.abort(id),
    'move.list': async () => core.moves.list(),

    ...planBridgeMethods(core),

    'lab.status': () => core.labStatus(),
    'lab.up': ({ appliances, poolSize }) => core.labUp({ appliances, poolSize }),
    'lab.down': () => core.labDown(),

    ...terminalBridgeMethods(core.terminals.service),
  };
}

export function createBridgeHandler(core: ConsoleCore): BridgeHandler {
  return bridgeHandlerFrom(bridgeMethodsOf(core), (listener) => core.subscribe(listener));
}
