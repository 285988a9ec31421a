// Whether the console core is reachable right now, for the status in the top bar.

import type { ConnectionState } from '../backend/backend.js';

export class ConnectionService {
  state = $state<ConnectionState>('connecting');
}
