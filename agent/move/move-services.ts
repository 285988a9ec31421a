// The move engine's part of the agent daemon, started in one call: the raw LV exports peers use as a
// move's target (restored first, so a restarted target agent serves them again), then the move
// manager, which resumes unfinished moves. Both must run before the NBD server takes host I/O.

import { openRemoteBackend } from '../backend/remote-backend.js';
import { openThreadedRemoteBackend, remoteWorkerAvailable } from '../backend/threaded-remote-backend.js';
import type { Logger } from '../log.js';
import type { PoolService } from '../pools/pool-service.js';
import type { EventBus } from '../rpc/event-bus.js';
import type { StateStore } from '../state/state-store.js';
import type { LocalLvOpener, RemoteOpener } from '../volumes/chain-factory.js';
import type { VolumeManager } from '../volumes/volume-manager.js';
import { LvExportService } from './lv-export-service.js';
import { MoveManager } from './move-manager.js';

export interface MoveServiceDeps {
  pools: PoolService;
  volumes: VolumeManager;
  store: StateStore;
  events: EventBus;
  log: Logger;
  openLocal: LocalLvOpener;
  /** Replaces the NBD client backend for move targets (tests); default: fail-fast remote backend. */
  openRemote?: RemoteOpener;
}

export interface MoveServices {
  moves: MoveManager;
  lvExports: LvExportService;
}

export async function startMoveServices(deps: MoveServiceDeps): Promise<MoveServices> {
  const { pools, volumes, store, events, log } = deps;
  const lvExports = new LvExportService({
    pools,
    store,
    openLocal: deps.openLocal,
    log: log.child('exports'),
  });
  await lvExports.restore();
  const remoteLog = log.child('target');
  const moves = new MoveManager({
    volumes,
    pools,
    store,
    events,
    log,
    // A move's mirror must not wait for a dead target: fail fast, the engine goes degraded. The copy
    // connection runs in a worker thread when it can: its TLS work then stays off the event loop. The
    // mirror lane stays on the event loop: its small host writes would pay two thread hops each way.
    openRemote:
      deps.openRemote ??
      ((o) =>
        o.lane !== 'mirror' && remoteWorkerAvailable()
          ? openThreadedRemoteBackend({ ...o, failFast: true })
          : openRemoteBackend({ ...o, failFast: true, log: remoteLog })),
  });
  await moves.resumeAll();
  return { moves, lvExports };
}

/** Agent shutdown: moves stop where they are (resumed at the next start); exports close. */
export async function stopMoveServices(services: Partial<MoveServices>): Promise<void> {
  await services.moves?.stopAll();
  await services.lvExports?.closeAll();
}
