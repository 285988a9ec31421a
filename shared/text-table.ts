// Plain-text tables for people (both CLIs): left-aligned columns, two spaces apart, a header row.

export function renderTable(header: string[], rows: string[][]): string {
  if (rows.length === 0) return `${header.join('  ')}\n(none)\n`;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
