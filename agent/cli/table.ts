// The agent CLI's tables come from the one implementation both CLIs share.

import { formatSizeApprox } from '../../shared/names.js';

export { renderTable } from '../../shared/text-table.js';

/** A size for a table cell: one decimal at most ("77.7G"), none when it is whole ("10G", "1.5T"). */
export function tableSize(bytes: number): string {
  return formatSizeApprox(bytes).replace(/\.0([A-Z])$/, '$1');
}
