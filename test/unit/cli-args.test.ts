// The console CLI's argument checks: a missing or bad option names itself and the command's usage.
import { describe, expect, it } from 'vitest';
import { type CommandSpec, parseInvocation, requireSize, requireStr } from '../../main/cli/cli-args.js';

const create: CommandSpec = {
  path: ['volume', 'create'],
  usage: 'ferry volume create NAME --size SIZE --on APPLIANCE/POOL',
  summary: 'create a virtual volume',
  args: ['NAME'],
  options: { size: { type: 'string' }, on: { type: 'string' } },
};

describe('ferry: command arguments', () => {
  it('reads required options, sizes as admins type them', () => {
    const inv = parseInvocation(create, ['v1', '--size', '2G', '--on', 'nas1/pool']);
    expect(requireSize(inv, 'size')).toBe(2 * 1024 ** 3);
    expect(requireStr(inv, 'on')).toBe('nas1/pool');
  });

  it("a missing option's error names it and gives the command's usage", () => {
    const inv = parseInvocation(create, ['v1', '--on', 'nas1/pool']);
    expect(() => requireSize(inv, 'size')).toThrow(
      'missing --size\nusage: ferry volume create NAME --size SIZE --on APPLIANCE/POOL',
    );
    expect(() => requireStr(parseInvocation(create, ['v1', '--on', '']), 'on')).toThrow(
      /missing --on\nusage: ferry volume create/,
    );
    expect(() => requireSize(parseInvocation(create, ['v1', '--size', 'big']), 'size')).toThrow(
      /invalid size "big"/,
    );
  });
});
