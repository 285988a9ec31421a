// The Electron app's IPC channels: all of them, each starting with 'ferry:' (the guard refuses any
// other). The preload and the main process import these names; nothing else crosses IPC.

export const CHANNEL_PREFIX = 'ferry:';

/** invoke(method, params) -> CallOutcome: every bridge call, terminals included. */
export const CALL_CHANNEL = 'ferry:call';
/** main -> renderer: the MessagePort on which the console core pushes bridge events. */
export const EVENTS_PORT_CHANNEL = 'ferry:events-port';

export const IPC_CHANNELS = [CALL_CHANNEL, EVENTS_PORT_CHANNEL] as const;
