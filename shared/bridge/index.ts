// The bridge contract between the renderer and the console core, as a table of contents:
// fields.ts   field schemas (names, sizes, times, APPLIANCE/POOL references, estimates, errors)
// model.ts    the domain views: appliances, pools, volumes, moves, preflight, plans, history, lab
// methods.ts  every request: name -> zod params and result (bridgeMethods, ParamsOf, ResultOf)
// events.ts   the pushed streams: inventory.changed, move.progress, plan.progress, appliance.status
// handler.ts  BridgeHandler (what the core implements) and the one validation of calls (validatedCall)
// wire.ts     the JSON messages of byte transports (the browser shell's WebSocket)
// preload-api.ts  what Electron's preload exposes as window.ferry
// terminal.ts  terminal.open/write/resize/close and the terminal.data/terminal.exit events

export * from './events.js';
export * from './fields.js';
export * from './handler.js';
export * from './methods.js';
export * from './model.js';
export * from './preload-api.js';
export * from './terminal.js';
export * from './wire.js';
