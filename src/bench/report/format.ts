/** Number formatting shared by the reporters. */

/** Milliseconds for people: `0.412ms`, `12.3ms`, `1.25s`; `-` when there is no value. */
export function fmtMs(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  if (v >= 10_000) return `${(v / 1000).toFixed(1)}s`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)}s`;
  if (v >= 100) return `${v.toFixed(0)}ms`;
  if (v >= 10) return `${v.toFixed(1)}ms`;
  if (v >= 1) return `${v.toFixed(2)}ms`;
  return `${v.toFixed(3)}ms`;
}

/** A fraction as a percentage with enough digits for error budgets like 0.1 %. */
export function fmtPct(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return '-';
  const p = fraction * 100;
  if (p === 0) return '0%';
  if (p < 0.01) return `${p.toFixed(4)}%`;
  if (p < 1) return `${p.toFixed(3)}%`;
  return `${p.toFixed(2)}%`;
}

export function fmtRate(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(2);
}

export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}
