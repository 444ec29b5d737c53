/**
 * Plain-text output of the tune commands: the facts with where each came from, then one row per
 * setting. No colours, so it reads the same in CI logs and in a GitOps pull request.
 */

import type { FactRow } from '../facts/book.js';
import { renderTable } from '../lib/table.js';
import { isWide, wrapToTerminal } from '../lib/terminal.js';
import type { Source } from '../tuners/index.js';
import { diffText } from './diff.js';
import type { TuneResult, TuneRow } from './types.js';

const GUIDE_ALIAS: Record<string, string> = {
  'sentinel-tuning-guide.md': 'tuning',
  'sentinel-deployment-guide.md': 'deployment',
  'sark-tuning-guide.md': 'sark-tuning',
  'sark-optimization-guide.md': 'sark-optimization',
  'jackdaw-benchmarking-guide.md': 'jackdaw',
  'docs/formulas.md': 'formulas',
  'docs/design.md': 'design',
};

/** `tuning: Worker Pool Sizing` — the guide and the innermost section, short enough for a table. */
export function shortSource(s: Source): string {
  const parts = s.section.split(' > ');
  // "Recommendations" alone does not say of what: keep its parent section.
  const section =
    parts.length > 1 && /^(Tuning )?Recommendations$/.test(parts.at(-1)!)
      ? parts.slice(-2).join(' > ')
      : parts.at(-1)!;
  return `${GUIDE_ALIAS[s.guide] ?? s.guide}: ${section}`;
}

const STATUS: Record<TuneRow['status'], string> = {
  same: 'ok',
  change: 'change',
  unknown: 'new',
  info: 'info',
};

export function renderFacts(facts: FactRow[]): string {
  return renderTable(
    ['FACT', 'VALUE', 'FROM'],
    facts.map((f) => [
      f.name,
      f.value,
      `${f.from}: ${f.detail}${f.used ? '' : ' (not used: a source of higher precedence says otherwise)'}`,
    ]),
  );
}

/** What changes first, then what is new, then information, then what already holds. */
const ORDER: Record<TuneRow['status'], number> = { change: 0, unknown: 1, info: 2, same: 3 };

export function sortRows(rows: TuneRow[]): TuneRow[] {
  return [...rows].sort((a, b) => ORDER[a.status] - ORDER[b.status]);
}

/**
 * One row per setting, changes first. At the terminal's width the reason and source follow the
 * table as a list; `-o wide` puts them in the table.
 */
export function renderRows(rows: TuneRow[]): string {
  const sorted = sortRows(rows);
  if (isWide()) {
    return renderTable(
      ['STATUS', 'SETTING', 'WHERE', 'CURRENT', 'RECOMMENDED', 'REASON', 'SOURCE'],
      sorted.map((r) => [
        STATUS[r.status],
        r.setting,
        r.component,
        r.current ?? '-',
        r.recommended,
        r.reason,
        shortSource(r.source),
      ]),
    );
  }
  const table = renderTable(
    ['STATUS', 'SETTING', 'WHERE', 'CURRENT', 'RECOMMENDED'],
    sorted.map((r) => [STATUS[r.status], r.setting, r.component, r.current ?? '-', r.recommended]),
  );
  const why = sorted
    .filter((r) => r.status !== 'same')
    .map((r) => wrapToTerminal(`- ${r.setting}: ${r.reason} [${shortSource(r.source)}]`, 2));
  return why.length ? `${table}\n\nWhy\n${why.join('\n')}` : table;
}

/** The report on stdout: recommendations first, the facts only with --facts, then the diff. */
export function renderTune(result: TuneResult, opts: { facts?: boolean } = {}): string {
  const parts = [`Recommendations (profile ${result.profile})`, renderRows(result.rows)];
  parts.push(
    '',
    opts.facts
      ? `Facts\n${renderFacts(result.facts)}`
      : `${result.facts.length} facts used; --facts lists each with where it came from.`,
  );
  const w = result.write;
  if (w && w.files.length > 0) parts.push('', diffText(w).trimEnd());
  return `${parts.join('\n')}\n`;
}

/** One finding as a block: severity, check and source, then the message and the fix, wrapped. */
export function renderFinding(f: {
  severity: string;
  id: string;
  message: string;
  fix: string;
  source: Source;
}): string {
  return [
    `${f.severity.toUpperCase()}  ${f.id}  [${shortSource(f.source)}]`,
    wrapToTerminal(`  ${f.message}`, 2),
    wrapToTerminal(`  Fix: ${f.fix}`, 5),
  ].join('\n');
}
