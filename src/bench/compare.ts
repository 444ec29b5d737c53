import { OVERALL } from './metrics.js';
import { type BenchReport, mergeReports, readReport } from './report/model.js';

/** One compared figure: old, new, change, and whether the change is a regression. */
export interface CompareRow {
  name: string;
  figure: string;
  old: number | null;
  new: number | null;
  delta: number | null;
  /** Relative change in percent (null when the old value is 0 or missing). */
  deltaPct: number | null;
  better: 'lower' | 'higher';
  regression: boolean;
}

export interface CompareResult {
  old: { files: string[]; startedAt: string; measuredMs: number };
  new: { files: string[]; startedAt: string; measuredMs: number };
  tolerancePct: number;
  errorTolerance: number;
  rows: CompareRow[];
  /** Thresholds that passed in OLD and fail in NEW. */
  newlyFailing: string[];
  regressions: number;
}

export interface CompareOptions {
  /** Latency may rise and throughput fall by this many percent before it is a regression. */
  tolerancePct: number;
  /** Failure rates may rise by this much (absolute, 0.001 = 0.1 percentage points). */
  errorTolerance: number;
}

const num = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? null : v);

function row(
  name: string,
  figure: string,
  oldV: number | null | undefined,
  newV: number | null | undefined,
  better: 'lower' | 'higher',
  isRegression: (o: number, n: number) => boolean,
): CompareRow {
  const o = num(oldV);
  const n = num(newV);
  const delta = o !== null && n !== null ? n - o : null;
  return {
    name,
    figure,
    old: o,
    new: n,
    delta,
    deltaPct: delta !== null && o ? Math.round((delta / o) * 10_000) / 100 : null,
    better,
    regression: o !== null && n !== null && isRegression(o, n),
  };
}

/**
 * Compares two runs name by name: throughput, failure rate, latency percentiles, and the scenario
 * trends (e2e_duration). A figure regresses when it moved the wrong way by more than the tolerance;
 * a threshold that passed before and fails now is always a regression.
 */
export function compareReports(
  oldR: BenchReport,
  newR: BenchReport,
  opts: CompareOptions,
): Omit<CompareResult, 'old' | 'new'> {
  const tol = opts.tolerancePct / 100;
  const slower = (o: number, n: number) => n > o * (1 + tol);
  const fewer = (o: number, n: number) => n < o * (1 - tol);
  const moreErrors = (o: number, n: number) => n - o > opts.errorTolerance;
  const rows: CompareRow[] = [];
  const names = [...new Set([...oldR.requests.map((q) => q.name), ...newR.requests.map((q) => q.name)])].sort(
    (a, b) => (a === OVERALL ? 1 : b === OVERALL ? -1 : a.localeCompare(b)),
  );
  for (const name of names) {
    const o = oldR.requests.find((q) => q.name === name);
    const n = newR.requests.find((q) => q.name === name);
    const label = name === OVERALL ? 'all requests' : name;
    rows.push(row(label, 'rps', o?.rps, n?.rps, 'higher', fewer));
    rows.push(row(label, 'failure rate', o?.failureRate, n?.failureRate, 'lower', moreErrors));
    for (const p of ['med', 'p95', 'p99'] as const) {
      rows.push(row(label, p === 'med' ? 'p50' : p, o?.latency[p], n?.latency[p], 'lower', slower));
    }
  }
  for (const m of newR.metrics) {
    if (m.type !== 'trend' || m.metric === 'iteration_duration') continue;
    const o = oldR.metrics.find((x) => x.metric === m.metric && x.name === m.name && x.type === 'trend');
    const label = `${m.metric}${m.name === OVERALL ? '' : `{${m.name}}`}`;
    for (const p of ['p95', 'p99'] as const) {
      rows.push(row(label, p, o && o.type === 'trend' ? o[p] : null, m[p], 'lower', slower));
    }
  }
  for (const m of newR.metrics) {
    if (m.type !== 'rate' || m.name !== OVERALL) continue;
    const o = oldR.metrics.find((x) => x.metric === m.metric && x.name === OVERALL && x.type === 'rate');
    // checks count passes: fewer is worse; execution_errors count failures: more is worse.
    const higherBetter = m.metric === 'checks';
    rows.push(
      row(
        m.metric,
        'rate',
        o && o.type === 'rate' ? o.rate : null,
        m.rate,
        higherBetter ? 'higher' : 'lower',
        (a, b) => (higherBetter ? a - b > opts.errorTolerance : b - a > opts.errorTolerance),
      ),
    );
  }
  const newlyFailing = newR.thresholds
    .filter(
      (t) =>
        !t.pass &&
        oldR.thresholds.some((x) => x.metric === t.metric && x.expression === t.expression && x.pass),
    )
    .map((t) => `${t.metric}: ${t.expression} (now ${t.observedText})`);
  return {
    tolerancePct: opts.tolerancePct,
    errorTolerance: opts.errorTolerance,
    rows,
    newlyFailing,
    regressions: rows.filter((r) => r.regression).length + newlyFailing.length,
  };
}

/** Reads OLD and NEW (each one file, or several comma-separated shard files merged) and compares. */
export function compareFiles(oldArg: string, newArg: string, opts: CompareOptions): CompareResult {
  const load = (arg: string) => {
    const files = arg.split(',').filter(Boolean);
    return { files, report: mergeReports(files.map(readReport)) };
  };
  const o = load(oldArg);
  const n = load(newArg);
  const meta = (x: typeof o) => ({
    files: x.files,
    startedAt: x.report.startedAt,
    measuredMs: x.report.measuredMs,
  });
  return { old: meta(o), new: meta(n), ...compareReports(o.report, n.report, opts) };
}

const fmtFigure = (figure: string, v: number | null) => {
  if (v === null) return '-';
  if (figure === 'rps') return v.toFixed(1);
  if (figure.includes('rate')) return `${(v * 100).toFixed(3)}%`;
  return `${v.toFixed(2)}ms`;
};

/** Rates change in percentage points (a rise from 0 has no relative change); the rest in percent. */
function changeText(row: CompareRow): string {
  if (row.figure.includes('rate')) {
    if (row.delta === null) return '-';
    const pts = Math.round(row.delta * 100_000) / 1000;
    return `${pts > 0 ? '+' : ''}${pts} pts`;
  }
  return row.deltaPct === null ? '-' : `${row.deltaPct > 0 ? '+' : ''}${row.deltaPct}%`;
}

/** The comparison as a table: every figure, old → new, the change, and REGRESSION marks. */
export function renderCompare(
  r: CompareResult,
  renderTable: (h: string[], rows: Array<Array<string | number | null>>) => string,
): string {
  const lines = [
    `old: ${r.old.files.join(', ')} (${r.old.startedAt})`,
    `new: ${r.new.files.join(', ')} (${r.new.startedAt})`,
    `tolerance: ${r.tolerancePct}% for latency and throughput, +${(r.errorTolerance * 100).toFixed(2)} points for failure rates`,
    '',
    renderTable(
      ['NAME', 'FIGURE', 'OLD', 'NEW', 'CHANGE', ''],
      r.rows.map((row) => [
        row.name,
        row.figure,
        fmtFigure(row.figure, row.old),
        fmtFigure(row.figure, row.new),
        changeText(row),
        row.regression ? 'REGRESSION' : '',
      ]),
    ),
  ];
  for (const t of r.newlyFailing) lines.push(`threshold now failing: ${t}`);
  lines.push(
    r.regressions === 0 ? 'no regressions' : `${r.regressions} regression${r.regressions > 1 ? 's' : ''}`,
  );
  return lines.join('\n');
}
