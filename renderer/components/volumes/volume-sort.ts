// Filtering and sorting of the volume table, kept out of the component so it stays a plain function
// of (volumes, filter, sort) that a 10,000-row list recomputes in a few milliseconds.

import type { Volume } from '../../../shared/bridge/index.js';

export type SortKey = 'name' | 'size' | 'allocated' | 'place' | 'epoch' | 'state';
export interface SortOrder {
  key: SortKey;
  ascending: boolean;
}

const collator = new Intl.Collator(undefined, { numeric: true });

function compare(a: Volume, b: Volume, key: SortKey): number {
  switch (key) {
    case 'size':
      return a.size - b.size;
    case 'allocated':
      return (a.allocated ?? -1) - (b.allocated ?? -1);
    case 'epoch':
      return a.epoch - b.epoch;
    case 'place':
      return collator.compare(`${a.appliance}/${a.pool}`, `${b.appliance}/${b.pool}`);
    case 'state':
      return collator.compare(a.state, b.state);
    default:
      return collator.compare(a.name, b.name);
  }
}

/** Words of the filter must all appear in the name, the place or the state. */
export function filterAndSort(volumes: Volume[], filter: string, order: SortOrder): Volume[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const kept =
    words.length === 0
      ? volumes.slice()
      : volumes.filter((v) => {
          const text = `${v.name} ${v.appliance}/${v.pool} ${v.state}`;
          return words.every((w) => text.includes(w));
        });
  const sign = order.ascending ? 1 : -1;
  return kept.sort((a, b) => sign * compare(a, b, order.key) || collator.compare(a.name, b.name));
}
