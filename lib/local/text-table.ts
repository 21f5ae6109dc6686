/**
 * A plain-text table: columns as wide as their widest cell, two spaces apart, a rule under the header (and
 * over the footer when there is one); cells of `rightAligned` columns padded on the left (numbers).
 */
export function textTable(
  header: readonly string[],
  body: readonly (readonly string[])[],
  options: { rightAligned?: (column: number) => boolean; footer?: readonly string[] } = {},
): string {
  const { rightAligned = () => false, footer } = options;
  const rows = [header, ...body, ...(footer ? [footer] : [])];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (rightAligned(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [line(header), rule, ...body.map(line), ...(footer ? [rule, line(footer)] : [])].join('\n');
}
