// The agent daemon's composition root: state dir (locked), inventory, pools, volumes, the NBD
// server over the vvs and the control RPC, started in that order and stopped in reverse.
// Shutdown (SIGTERM): stop taking control calls and new NBD clients, let NBD requests in flight
// finish (or fail, when they wait for a remote LV whose link is down), flush and close every
// volume, release the state dir.

import { FerryError } from '../../shared/errors.js';
import type { AgentAccessDefaults } from '../access/access-policy.js';
import { VolumeAccess } from '../access/volume-access.js';
import { openFileBackend } from '../backend/file-backend.js';
import { openRemoteBackend, RemoteLinkSet } from '../backend/remote-backend.js';
import type { Logger } from '../log.js';
import { startMoveServices, stopMoveServices } from '../move/move-services.js';
import { NbdServer } from '../nbd/server.js';
import { PoolService } from '../pools/pool-service.js';
import type { AgentIdentity, AgentServices } from '../rpc/agent-services.js';
import { EventBus } from '../rpc/event-bus.js';
import { methodModules } from '../rpc/method-modules.js';
import { MethodTable } from '../rpc/method-table.js';
import { RpcServer } from '../rpc/rpc-server.js';
import { Inventory } from '../state/inventory.js';
import { StateStore } from '../state/state-store.js';
import { AGENT_VERSION } from '../version.js';
import { ChainFactory, type RemoteOpener } from '../volumes/chain-factory.js';
import { VolumeExportProvider } from '../volumes/volume-export-provider.js';
import { VolumeManager } from '../volumes/volume-manager.js';

export interface DaemonOptions {
  stateDir: string;
  listenHost: string;
  listenPort: number;
  control: string;
  log: Logger;
  /** Replaces the NBD client backend for remote mappings (tests). */
  openRemote?: RemoteOpener;
  /** Access rules for new volumes (serve --hosts-allow, --host-tls); default: loopback only, no TLS. */
  access?: AgentAccessDefaults;
}

export class AgentDaemon {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly services: AgentServices,
    readonly provider: VolumeExportProvider,
    private readonly nbd: NbdServer,
    private readonly rpc: RpcServer,
    private readonly store: StateStore,
    private readonly log: Logger,
    readonly identity: AgentIdentity,
    private readonly remoteLinks: RemoteLinkSet,
  ) {}

  static async start(opts: DaemonOptions): Promise<AgentDaemon> {
    const log = opts.log;
    const store = await StateStore.open(opts.stateDir);
    const cleanup: Array<() => Promise<void>> = [() => store.close()];
    try {
      const inventory = await Inventory.load(store);
      const events = new EventBus();
      const pools = new PoolService(inventory, events, log.child('pools'));
      const access = await VolumeAccess.load({
        inventory,
        store,
        defaults: opts.access ?? {},
        log: log.child('access'),
        events,
      });
      let provider: VolumeExportProvider | undefined;
      let nbd: NbdServer | undefined;
      const remoteLinks = new RemoteLinkSet();
      const chains = new ChainFactory({
        openLocal: (path, o) => openFileBackend(path, o),
        openRemote:
          opts.openRemote ??
          ((o) => remoteLinks.track(openRemoteBackend({ ...o, log: log.child('remote') }))),
        lookupLv: (pool, lv) => pools.lookupLv(pool, lv),
      });
      const volumes = new VolumeManager({
        inventory,
        pools,
        store,
        chains,
        events,
        log: log.child('volumes'),
        connectionCount: (name) => provider?.connectionCount(name) ?? 0,
        disconnect: (name) => nbd?.disconnectWhere((c) => c.exportName === name) ?? Promise.resolve(),
        connectedClients: (name) =>
          (nbd?.connections() ?? [])
            .filter((c) => c.exportName === name)
            .map((c) => `${c.address}:${c.port} (connection ${c.id})`),
        initialAccess: () => access.initialPolicy(),
      });
      await volumes.openAll();
      for (const path of await pools.strayFiles()) {
        log.warn(
          `${path} is in a pool folder but is no LV (an interrupted create or delete?); remove it if unused`,
        );
      }
      provider = new VolumeExportProvider(volumes, access);
      // Moves resume (mirror in place) and LV exports come back before NBD takes host I/O.
      const moveServices = await startMoveServices({
        pools,
        volumes,
        store,
        events,
        log: log.child('moves'),
        openLocal: (path, o) => openFileBackend(path, o),
        openRemote: opts.openRemote,
      });
      cleanup.unshift(() => stopMoveServices(moveServices));
      provider.addSource(moveServices.lvExports);
      nbd = new NbdServer({ provider, log: log.child('nbd') });
      access.attachServer(nbd);
      moveServices.lvExports.attachServer(nbd);
      const address = await listenNbd(nbd, opts.listenHost, opts.listenPort);
      cleanup.unshift(() => nbd!.close());
      const identity: AgentIdentity = {
        version: AGENT_VERSION,
        pid: process.pid,
        startedAt: new Date().toISOString(),
        stateDir: opts.stateDir,
        control: opts.control,
        nbd: address,
      };
      const services: AgentServices = {
        pools,
        volumes,
        events,
        ...moveServices,
        access,
        identity: () => identity,
      };
      const table = new MethodTable(log.child('rpc'));
      for (const register of methodModules) register(table, services);
      const rpc = new RpcServer(table, log.child('rpc'));
      await rpc.listen(opts.control);
      events.publish({ type: 'agent.started', version: AGENT_VERSION });
      return new AgentDaemon(services, provider, nbd, rpc, store, log, identity, remoteLinks);
    } catch (err) {
      for (const fn of cleanup) await fn().catch(() => {});
      throw err;
    }
  }

  /** Idempotent: a second call waits for the first. */
  stop(signal = 'stop'): Promise<void> {
    this.stopping ??= this.shutdown(signal);
    return this.stopping;
  }

  private async shutdown(signal: string): Promise<void> {
    this.log.info(`${signal}: stopping`);
    this.services.events.publish({ type: 'agent.stopping', signal });
    this.provider.shutdown();
    // A vv whose remote LV's agent is down would hold the stop for the whole remote I/O timeout
    // (60 s): its requests and final flush fail now instead. Hosts lose the agent anyway.
    this.remoteLinks.stopWaiting('this agent is stopping');
    await this.rpc.close().catch((err) => this.log.warn(`closing control socket: ${(err as Error).message}`));
    await this.nbd.close().catch((err) => this.log.warn(`closing NBD server: ${(err as Error).message}`));
    await stopMoveServices(this.services);
    await this.services.volumes.closeAll();
    await this.services.moves?.closeStoppedTargets();
    await this.store.close();
    this.log.info('stopped');
  }
}

/** NBD listen errors in words an admin can act on. */
async function listenNbd(
  nbd: NbdServer,
  host: string,
  port: number,
): Promise<{ host: string; port: number }> {
  try {
    return await nbd.listen(host, port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${host}:${port}`;
    if (code === 'EADDRINUSE') {
      throw new FerryError('ERR_ALREADY_EXISTS', `cannot listen for NBD on ${where}: the port is in use`);
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') {
      throw new FerryError('ERR_INVALID_ARGUMENT', `cannot listen for NBD on ${where}: ${code}`);
    }
    throw err;
  }
}
