// `ferry inventory`, `ferry volume create|list`, `ferry pool add`, `ferry history`: what the shop has,
// from the store (offline, saying how old) or fresh from the agents.
import type { Inventory } from '../../../shared/bridge/model.js';
import { FerryError } from '../../../shared/errors.js';
import { getVolumeAccess, setVolumeAccess } from '../../core/console/volume-access.js';
import { parsePoolRef, requireSize, requireStr, sizeOpt, str } from '../cli-args.js';
import type { Command } from '../cli-context.js';
import { age, size, table } from '../cli-output.js';

function renderInventory(inv: Inventory): string {
  const appliances = table(
    ['APPLIANCE', 'HOST', 'STATUS', 'AGENT', 'LAST SEEN'],
    inv.appliances.map((a) => [
      a.name,
      a.host,
      a.status + (a.message ? ` (${a.message})` : ''),
      a.agentVersion ?? '-',
      age(a.lastSeen),
    ]),
  );
  const pools = table(
    ['POOL', 'KIND', 'SIZE', 'USED', 'FREE', 'LAST SEEN'],
    inv.pools.map((p) => [
      `${p.appliance}/${p.name}`,
      p.kind,
      size(p.capacity),
      size(p.used),
      size(Math.max(0, p.capacity - p.used - p.reserved)),
      age(p.lastSeen),
    ]),
  );
  return `${appliances}\n${pools}\n${renderVolumes(inv)}\ninventory as of: ${age(inv.asOf)}\n`;
}

function renderVolumes(inv: Inventory): string {
  return table(
    ['VOLUME', 'SIZE', 'ALLOCATED', 'ON', 'EPOCH', 'STATE', 'LAST SEEN'],
    inv.volumes.map((v) => [
      v.name,
      size(v.size),
      v.allocated === null ? '-' : size(v.allocated),
      `${v.appliance}/${v.pool}/${v.lv}`,
      String(v.epoch),
      v.state,
      age(v.lastSeen),
    ]),
  );
}

export const inventoryCommands: Command[] = [
  {
    path: ['inventory'],
    usage: 'ferry inventory [--refresh [--appliance NAME]]',
    summary: 'appliances, pools and volumes (from the store; --refresh asks the agents)',
    options: { refresh: { type: 'boolean' }, appliance: { type: 'string' } },
    async run(ctx, inv) {
      const core = await ctx.core();
      if (inv.values.refresh) {
        const { inventory, results } = await core.refresh(str(inv, 'appliance'));
        for (const r of results) {
          if (!r.ok) ctx.out.note(`${r.appliance}: offline (${r.error}); showing its last known inventory`);
          for (const d of r.drift) ctx.out.note(`${r.appliance}: volume ${d.volume}: ${d.detail}`);
        }
        ctx.out.result({ ...inventory, refresh: results }, () => renderInventory(inventory));
      } else {
        ctx.out.result(core.inventory(), renderInventory);
      }
      return 0;
    },
  },
  {
    path: ['pool', 'add'],
    usage: 'ferry pool add APPLIANCE NAME (--dir PATH [--capacity SIZE] | --device PATH[,PATH...])',
    summary: 'add a pool to an appliance',
    args: ['APPLIANCE', 'NAME'],
    options: { dir: { type: 'string' }, device: { type: 'string' }, capacity: { type: 'string' } },
    async run(ctx, inv) {
      const [appliance, name] = inv.positionals;
      const device = str(inv, 'device');
      const pool = await (await ctx.core()).addPool({
        appliance,
        name,
        dir: str(inv, 'dir'),
        devices: device?.split(',').filter((d) => d !== ''),
        capacity: sizeOpt(inv, 'capacity'),
      });
      ctx.out.result(
        pool,
        (p) => `pool ${p.appliance}/${p.name} added: ${size(p.capacity)}, ${size(p.used)} used`,
      );
      return 0;
    },
  },
  {
    path: ['volume', 'create'],
    usage: 'ferry volume create NAME --size SIZE --on APPLIANCE/POOL',
    summary: 'create a virtual volume (an LV and its NBD export)',
    args: ['NAME'],
    options: { size: { type: 'string' }, on: { type: 'string' } },
    async run(ctx, inv) {
      const volume = await (await ctx.core()).createVolume({
        name: inv.positionals[0],
        size: requireSize(inv, 'size'),
        on: parsePoolRef(requireStr(inv, 'on')),
      });
      ctx.out.result(
        volume,
        (v) => `volume ${v.name} created: ${size(v.size)} on ${v.appliance}/${v.pool}, epoch ${v.epoch}`,
      );
      return 0;
    },
  },
  {
    path: ['volume', 'list'],
    usage: 'ferry volume list',
    summary: 'the volumes as last seen',
    async run(ctx) {
      const inventory = (await ctx.core()).inventory();
      ctx.out.result(inventory.volumes, () => renderVolumes(inventory));
      return 0;
    },
  },
  {
    path: ['history'],
    usage: 'ferry history VOLUME',
    summary: "a volume's mapping epochs and audit log",
    args: ['VOLUME'],
    async run(ctx, inv) {
      const history = (await ctx.core()).volumeHistory(inv.positionals[0]);
      ctx.out.result(history, (h) =>
        [
          table(
            ['EPOCH', 'ON', 'AT', 'WHY'],
            h.epochs.map((e) => [String(e.epoch), `${e.appliance}/${e.pool}/${e.lv}`, e.at, e.reason]),
          ),
          table(
            ['AT', 'WHO', 'WHAT', 'DETAIL'],
            h.audit.map((a) => [a.at, a.actor, a.action, a.detail]),
          ),
        ].join('\n'),
      );
      return 0;
    },
  },
  {
    path: ['volume', 'access'],
    usage:
      'ferry volume access NAME [--allow ADDR|CIDR[,...]] [--deny-all] [--read-only | --read-write] [--host-tls off|allow|require]',
    summary: 'show or change who may reach a volume (changes are audited)',
    args: ['NAME'],
    options: {
      allow: { type: 'string' },
      'deny-all': { type: 'boolean' },
      'read-only': { type: 'boolean' },
      'read-write': { type: 'boolean' },
      'host-tls': { type: 'string' },
    },
    async run(ctx, inv) {
      const core = await ctx.core();
      const name = inv.positionals[0];
      if (inv.values['read-only'] && inv.values['read-write']) {
        throw new FerryError('ERR_INVALID_ARGUMENT', '--read-only and --read-write exclude each other');
      }
      const hostTls = str(inv, 'host-tls');
      if (hostTls !== undefined && !['off', 'allow', 'require'].includes(hostTls)) {
        throw new FerryError(
          'ERR_INVALID_ARGUMENT',
          `--host-tls takes off, allow or require, not ${JSON.stringify(hostTls)}`,
        );
      }
      const change = {
        allow: str(inv, 'allow')
          ?.split(',')
          .map((a) => a.trim())
          .filter((a) => a !== ''),
        denyAll: inv.values['deny-all'] === true ? true : undefined,
        readOnly: inv.values['read-only'] ? true : inv.values['read-write'] ? false : undefined,
        hostTls: hostTls as 'off' | 'allow' | 'require' | undefined,
      };
      const changing = Object.values(change).some((v) => v !== undefined);
      const result = changing
        ? await setVolumeAccess(core.store, core.links, name, change)
        : await getVolumeAccess(core.store, core.links, name);
      ctx.out.result(result, (r) => {
        const p = r.policy;
        const who = p.denyAll ? 'nobody (deny-all)' : p.allow.join(', ');
        const lines = [
          `volume ${name}: allowed ${who}; ${p.readOnly ? 'read-only' : 'read-write'}; host TLS ${p.hostTls}`,
        ];
        if (p.pskIdentities.length > 0) lines.push(`  PSK identities: ${p.pskIdentities.join(', ')}`);
        const gone = (r as { disconnected?: string[] }).disconnected ?? [];
        if (gone.length > 0) lines.push(`  disconnected (no longer allowed): ${gone.join(', ')}`);
        return lines.join('\n');
      });
      return 0;
    },
  },
];
