/**
 * Plain aligned text tables for terminal output: no colours, no borders, so they stay readable
 * in CI logs. They fit the terminal (src/lib/terminal.ts): when the natural widths do not fit, the
 * widest columns are narrowed and their cells wrapped onto continuation lines; `-o wide` keeps
 * every cell on one line.
 */
import { isWide, terminalWidth, wrapText } from './terminal.js';

const GAP = 2;
/** A column is never narrowed below this (or its header). */
const MIN_COLUMN = 8;

/** Narrows the widest columns until the row fits `total` columns. */
function fitWidths(natural: number[], mins: number[], total: number): number[] {
  const widths = [...natural];
  const budget = total - GAP * (widths.length - 1);
  let sum = widths.reduce((a, b) => a + b, 0);
  while (sum > budget) {
    let i = -1;
    for (let j = 0; j < widths.length; j++) {
      if (widths[j]! > mins[j]! && (i < 0 || widths[j]! > widths[i]!)) i = j;
    }
    if (i < 0) break; // every column at its minimum: the line stays too wide rather than unreadable
    const second = Math.max(
      mins[i]!,
      ...widths.filter((_, j) => j !== i).map((w) => Math.min(w, widths[i]! - 1)),
    );
    const cut = Math.min(sum - budget, Math.max(1, widths[i]! - second));
    widths[i]! -= cut;
    sum -= cut;
  }
  return widths;
}

export function renderTable(
  headers: string[],
  rows: Array<Array<string | number | null | undefined>>,
  options: {
    width?: number;
    wide?: boolean;
    /** Columns (by header) left out, in this order, while the table does not fit; `-o wide` keeps them. */
    optional?: string[];
  } = {},
): string {
  const wideMode = options.wide ?? isWide();
  const width = options.width ?? terminalWidth();
  const drop = new Set<number>();
  if (!wideMode) {
    for (const name of options.optional ?? []) {
      const minTotal = headers
        .map((h, i) =>
          drop.has(i) ? 0 : Math.max(h.length, ...rows.map((r) => String(r[i] ?? '-').length)) + GAP,
        )
        .reduce((a, b) => a + b, 0);
      if (minTotal - GAP <= width) break;
      const i = headers.indexOf(name);
      if (i >= 0) drop.add(i);
    }
  }
  if (drop.size > 0) {
    return renderTable(
      headers.filter((_, i) => !drop.has(i)),
      rows.map((r) => r.filter((_, i) => !drop.has(i))),
      { width, wide: false },
    );
  }
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const natural = headers.map((h, i) =>
    Math.max(h.length, ...cells.flatMap((r) => (r[i] ?? '').split('\n').map((l) => l.length))),
  );
  const wide = options.wide ?? isWide();
  const widths = wide
    ? natural
    : fitWidths(
        natural,
        headers.map((h, i) => Math.min(natural[i]!, Math.max(h.length, MIN_COLUMN))),
        options.width ?? terminalWidth(),
      );
  const lines = (r: string[]): string[] => {
    const wrapped = r.map((c, i) =>
      c.length > widths[i]! || c.includes('\n') ? wrapText(c, widths[i]!) : [c],
    );
    const height = Math.max(...wrapped.map((w) => w.length));
    const out: string[] = [];
    for (let k = 0; k < height; k++) {
      out.push(
        wrapped
          .map((w, i) => (i === wrapped.length - 1 ? (w[k] ?? '') : (w[k] ?? '').padEnd(widths[i]!)))
          .join(' '.repeat(GAP))
          .trimEnd(),
      );
    }
    return out;
  };
  return [
    ...lines(headers),
    widths
      .map((w) => '-'.repeat(w))
      .join(' '.repeat(GAP))
      .trimEnd(),
    ...cells.flatMap(lines),
  ].join('\n');
}
