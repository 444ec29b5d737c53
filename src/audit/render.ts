import { renderTable } from '../lib/table.js';
import type { AuditReport, AuditRow } from './types.js';

/** Cuts a cell to `max` characters with an ellipsis; the full text stays in --json. */
export function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/** The observed column: the final status, then the line that decided the verdict. */
export function observed(row: AuditRow): string {
  return row.status === '-' ? row.evidence : `${row.status}: ${row.evidence}`;
}

/** The report table: attack, expected outcome, observed outcome (status + evidence), verdict. */
export function renderAuditTable(report: AuditReport): string {
  return renderTable(
    ['ATTACK', 'LANG', 'EXPECTED', 'OBSERVED', 'VERDICT'],
    report.rows.map((r) => [
      r.id,
      r.language,
      clip(r.expected, 60),
      clip(observed(r), 110),
      r.verdict === 'contained' ? r.verdict : `${r.verdict}: ${r.reason}`,
    ]),
  );
}

/** One line for stderr: counts and time. */
export function renderSummary(report: AuditReport): string {
  const s = report.summary;
  return `${s.total} rows: ${s.contained} contained, ${s.escapes} escape${s.escapes === 1 ? '' : 's'}, ${s.inconclusive} inconclusive (${(report.durationMs / 1000).toFixed(1)} s against ${report.apiUrl})`;
}
