// ctl commands: info (version, NBD address, pools, volumes) and events [--follow] (JSON lines).

import { EVENT_NOTIFICATION, eventsList, eventsSubscribe } from '../../shared/rpc/events.js';
import { agentInfo } from '../../shared/rpc/info.js';
import type { CtlCommand } from './ctl-command.js';
import { poolRows } from './ctl-pools.js';
import { volumeRows } from './ctl-volumes.js';

export const infoCommands: CtlCommand[] = [
  {
    words: ['info'],
    positionals: [],
    synopsis: '',
    summary: "the agent's version, NBD address, pools and volumes",
    async run({ client }) {
      const info = await client.call(agentInfo, {});
      const human = [
        `ferry-agent ${info.version} (pid ${info.pid}, since ${info.startedAt})`,
        `NBD:      ${info.nbd.host}:${info.nbd.port}`,
        `control:  ${info.control}`,
        `state:    ${info.stateDir}`,
        '',
        'pools:',
        poolRows(info.pools),
        'volumes:',
        volumeRows(info.volumes),
      ].join('\n');
      return { json: info, human };
    },
  },
  {
    words: ['events'],
    positionals: [],
    synopsis: '[--follow]',
    summary: 'recent events as JSON lines; --follow keeps printing new ones until interrupted',
    options: { follow: { type: 'boolean' } },
    async run({ args, client, write }) {
      if (args.values.follow !== true) {
        const { events } = await client.call(eventsList, {});
        for (const event of events) write(`${JSON.stringify(event)}\n`);
        return undefined;
      }
      client.onNotification((method, params) => {
        if (method === EVENT_NOTIFICATION) write(`${JSON.stringify(params)}\n`);
      });
      const closed = new Promise<void>((resolve) => client.onClose(() => resolve()));
      await client.call(eventsSubscribe, { since: 0 });
      await closed;
      return undefined;
    },
  },
];
