// The volume table's filter and sort, and the renderer's plain-words errors and number formats.

import { describe, expect, it } from 'vitest';
import { filterAndSort } from '../../renderer/components/volumes/volume-sort.js';
import { explainError } from '../../renderer/lib/ui/explain-error.js';
import { formatAgo, formatBytes, formatDuration, formatRate } from '../../renderer/lib/ui/format.js';
import type { Volume } from '../../shared/bridge/index.js';
import { FerryError } from '../../shared/errors.js';

function volume(name: string, size: number, appliance: string, state: Volume['state'] = 'ready'): Volume {
  return {
    name,
    uuid: name,
    size,
    allocated: null,
    appliance,
    pool: 'pool',
    lv: name,
    epoch: 1,
    state,
    moveId: null,
    lastSeen: null,
  };
}

describe('volume table filter and sort', () => {
  const volumes = [
    volume('vol-10', 3, 'b'),
    volume('vol-2', 1, 'a', 'moving'),
    volume('db', 2, 'a'),
    volume('vol-1', 2, 'b'),
  ];

  it('sorts names naturally (vol-2 before vol-10) and breaks ties by name', () => {
    expect(filterAndSort(volumes, '', { key: 'name', ascending: true }).map((v) => v.name)).toEqual([
      'db',
      'vol-1',
      'vol-2',
      'vol-10',
    ]);
    expect(filterAndSort(volumes, '', { key: 'size', ascending: false }).map((v) => v.name)).toEqual([
      'vol-10',
      'db',
      'vol-1',
      'vol-2',
    ]);
  });

  it('keeps rows whose name, place or state contain every word', () => {
    expect(filterAndSort(volumes, 'vol a/', { key: 'name', ascending: true }).map((v) => v.name)).toEqual([
      'vol-2',
    ]);
    expect(filterAndSort(volumes, 'moving', { key: 'name', ascending: true }).map((v) => v.name)).toEqual([
      'vol-2',
    ]);
  });

  it('does not reorder the inventory it was given', () => {
    const before = volumes.map((v) => v.name);
    filterAndSort(volumes, '', { key: 'size', ascending: true });
    expect(volumes.map((v) => v.name)).toEqual(before);
  });

  it('filters and sorts 10,000 rows quickly', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => volume(`vol-${i}`, i % 97, i % 2 ? 'a' : 'b'));
    const start = performance.now();
    filterAndSort(many, 'vol-9', { key: 'size', ascending: true });
    filterAndSort(many, '', { key: 'name', ascending: false });
    expect(performance.now() - start).toBeLessThan(500);
  });
});

describe('renderer errors and formats', () => {
  it('adds what to do when the core message does not say it', () => {
    const e = explainError(new FerryError('ERR_UNREACHABLE', 'lab-2 did not answer'));
    expect(e).toEqual({
      code: 'ERR_UNREACHABLE',
      message: 'Lab-2 did not answer',
      hint: 'Check that the appliance is on and reachable from this computer, then try again.',
    });
    const said = explainError(
      new FerryError('ERR_NO_SPACE', 'pool b/p lacks 2G: free space or pick another pool'),
    );
    expect(said.hint).toBeNull();
    expect(explainError(new Error('boom')).code).toBe('ERR_INTERNAL');
  });

  it('formats sizes, rates, durations and ages', () => {
    expect(formatBytes(1536 * 1024 * 1024)).toBe('1.5G');
    expect(formatBytes(null)).toBe('—');
    expect(formatRate(100 * 1024 * 1024)).toBe('100.0M/s');
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(0.3)).toBe('<1s');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(61)).toBe('1m 01s');
    expect(formatDuration(3 * 3600 + 120)).toBe('3h 02m');
    expect(formatDuration(null)).toBe('—');
    const now = Date.parse('2026-11-25T12:00:00Z');
    expect(formatAgo('2026-11-25T11:58:00Z', now)).toBe('2 min ago');
    expect(formatAgo(null, now)).toBe('never');
  });
});
