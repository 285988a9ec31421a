// RPC methods of the move domain: move.start/list/status/pause/resume/abort/throttle, and the raw LV exports
// a move's target side needs: lv.export, lv.unexport, lv.exports.

import { FerryError } from '../../shared/errors.js';
import {
  lvExport,
  lvExports,
  lvUnexport,
  moveAbort,
  moveList,
  movePause,
  moveResume,
  moveStart,
  moveStatus,
  moveThrottle,
} from '../../shared/rpc/moves.js';
import type { AgentServices } from './agent-services.js';
import type { MethodTable } from './method-table.js';

export function registerMoveMethods(table: MethodTable, services: AgentServices): void {
  const moves = () => {
    if (!services.moves) throw new FerryError('ERR_UNSUPPORTED', 'this agent runs no move engine');
    return services.moves;
  };
  const exportsOf = () => {
    if (!services.lvExports) throw new FerryError('ERR_UNSUPPORTED', 'this agent has no LV exports');
    return services.lvExports;
  };
  table.register(moveStart, (params) => moves().start(params));
  table.register(moveList, () => ({ moves: moves().list() }));
  table.register(moveStatus, ({ id }) => moves().status(id));
  table.register(movePause, ({ id, expectEpoch }) => moves().pause(id, expectEpoch));
  table.register(moveResume, ({ id, expectEpoch }) => moves().resume(id, expectEpoch));
  table.register(moveAbort, ({ id, expectEpoch }) => moves().abort(id, expectEpoch));
  table.register(moveThrottle, ({ id, throttle, busyThrottle, expectEpoch }) =>
    moves().setThrottle(id, { throttle, busyThrottle }, expectEpoch),
  );
  table.register(lvExport, ({ pool, name, pskIdentity, pskKey }) =>
    exportsOf().export(pool, name, pskIdentity, Buffer.from(pskKey, 'hex')),
  );
  table.register(lvUnexport, async ({ pool, name }) => {
    await exportsOf().unexport(pool, name);
    return { pool, name };
  });
  table.register(lvExports, () => ({ exports: exportsOf().exports() }));
}
