// The console's mapping store: open it with openStore(); see store.ts for the repositories it carries.
export { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate, schemaVersion } from './migrations.js';
export type * from './repo-appliances.js';
export type * from './repo-audit.js';
export type * from './repo-inventory.js';
export type * from './repo-moves.js';
export { MOVE_PHASES, TERMINAL_MOVE_PHASES } from './repo-moves.js';
export type * from './repo-plans.js';
export type * from './repo-throughput.js';
export type * from './repo-volumes.js';
export { type OpenStoreOptions, openStore, Store } from './store.js';
export { appDataDir, ferryDataDir, resolveStorePath } from './store-path.js';
