/**
 * Plain-text output of the tune commands: the facts with where each came from, then one row per
 * setting. No colours, so it reads the same in CI logs and in a GitOps pull request.
 */

import type { FactRow } from '../facts/book.js';
import { renderTable } from '../lib/table.js';
import type { Source } from '../tuners/index.js';
import { diffText } from './diff.js';
import type { TuneResult, TuneRow } from './types.js';

const GUIDE_ALIAS: Record<string, string> = {
  'sentinel-tuning-guide.md': 'tuning',
  'sentinel-deployment-guide.md': 'deployment',
  'sark-tuning-guide.md': 'sark-tuning',
  'sark-optimization-guide.md': 'sark-optimization',
  'jackdaw-benchmarking-guide.md': 'jackdaw',
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

export function renderRows(rows: TuneRow[]): string {
  return renderTable(
    ['SETTING', 'WHERE', 'CURRENT', 'RECOMMENDED', 'STATUS', 'REASON', 'SOURCE'],
    rows.map((r) => [
      r.setting,
      r.component,
      r.current ?? '-',
      r.recommended,
      STATUS[r.status],
      r.reason,
      shortSource(r.source),
    ]),
  );
}

/** The report on stdout: facts, recommendations, and (with --write) the diff that was applied. */
export function renderTune(result: TuneResult): string {
  const parts = [
    `Facts (profile ${result.profile})`,
    renderFacts(result.facts),
    '',
    'Recommendations',
    renderRows(result.rows),
  ];
  const w = result.write;
  if (w && w.files.length > 0) parts.push('', diffText(w).trimEnd());
  return `${parts.join('\n')}\n`;
}
