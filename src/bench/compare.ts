import { UserError } from '../lib/errors.js';
import { decodeHistogram, type Histogram } from './histogram.js';
import { metricKey, OVERALL } from './metrics.js';
import { type BenchReport, checkMergeable, mergeReports, readReport } from './report/model.js';

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
  /** Whether the sample sizes support calling the change real (see `significance`); null: not decidable. */
  significant: boolean | null;
  /** Beyond the tolerance in the wrong direction and significant. */
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

/** How `compare` decides that a change is more than chance (printed with the table). */
export const significanceRule =
  "significant = outside 95% confidence: percentiles by the order-statistic interval of each run (the runs' intervals do not overlap), rates by a two-proportion z-test, throughput by a Poisson z-test (|z| > 1.96)";

const Z = 1.96;

/** The 95 % confidence interval of percentile p (0–100) of a histogram, in ms (order statistics). */
export function percentileInterval(h: Histogram, p: number): [number, number] | null {
  const n = h.totalCount;
  if (n === 0) return null;
  const q = p / 100;
  const half = Z * Math.sqrt(n * q * (1 - q));
  const at = (rank: number) => h.getValueAtPercentile(Math.min(100, Math.max(0, (rank / n) * 100))) / 1000;
  return [at(n * q - half - 1), at(n * q + half + 1)];
}

/** Percentile change: significant when the two runs' 95 % intervals do not overlap. */
function percentileSignificant(
  o: Histogram | undefined,
  n: Histogram | undefined,
  p: number,
): boolean | null {
  const a = o && percentileInterval(o, p);
  const b = n && percentileInterval(n, p);
  if (!a || !b) return null;
  return a[1] < b[0] || b[1] < a[0];
}

/** Two-proportion z-test of hits/total. */
export function ratesSignificant(h1: number, n1: number, h2: number, n2: number): boolean | null {
  if (n1 === 0 || n2 === 0) return null;
  const pooled = (h1 + h2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return h1 / n1 !== h2 / n2;
  return Math.abs(h2 / n2 - h1 / n1) / se > Z;
}

/** Throughput: counts over durations, Poisson z-test. */
function throughputSignificant(c1: number, t1: number, c2: number, t2: number): boolean | null {
  if (t1 <= 0 || t2 <= 0 || c1 + c2 === 0) return null;
  const se = Math.sqrt(c1 / (t1 * t1) + c2 / (t2 * t2));
  return Math.abs(c2 / t2 - c1 / t1) / se > Z;
}

function row(
  name: string,
  figure: string,
  oldV: number | null | undefined,
  newV: number | null | undefined,
  better: 'lower' | 'higher',
  isRegression: (o: number, n: number) => boolean,
  significant: boolean | null,
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
    significant,
    // Beyond the tolerance and not explainable by chance (undecidable counts as significant).
    regression: o !== null && n !== null && isRegression(o, n) && significant !== false,
  };
}

/** Rows of latency percentiles (`med` shown as p50), each with its significance from the histograms. */
function percentileRows(
  label: string,
  keys: Array<'med' | 'p95' | 'p99'>,
  o: Partial<Record<'med' | 'p95' | 'p99', number>> | undefined,
  n: Partial<Record<'med' | 'p95' | 'p99', number>> | undefined,
  ho: Histogram | undefined,
  hn: Histogram | undefined,
  slower: (o: number, n: number) => boolean,
): CompareRow[] {
  const q = { med: 50, p95: 95, p99: 99 } as const;
  return keys.map((k) =>
    row(label, k === 'med' ? 'p50' : k, o?.[k], n?.[k], 'lower', slower, percentileSignificant(ho, hn, q[k])),
  );
}

/** A report's histogram of one request name or trend key. */
function histogramOf(r: BenchReport, request: string | undefined, trendKey?: string): Histogram | undefined {
  if (trendKey) {
    const t = r.data.main.trends[trendKey];
    return t ? decodeHistogram(t) : undefined;
  }
  const q = r.data.main.requests.find((x) => x.name === request);
  return q ? decodeHistogram(q.duration) : undefined;
}

/** Refuses to compare runs of different scenarios or targets (exit 2). */
export function checkComparable(oldR: BenchReport, newR: BenchReport): void {
  const id = (r: BenchReport) => `${r.scenario.kind} scenario ${r.scenario.name} → ${r.scenario.baseUrl}`;
  if (id(oldR) !== id(newR))
    throw new UserError(`The runs are of different tests: ${id(oldR)} vs ${id(newR)}.`, {
      code: 'INCOMPARABLE',
      suggestion:
        'Compare runs of the same scenario against the same target (or give --base-url the same value).',
    });
  if (oldR.load.model !== newR.load.model)
    throw new UserError(
      `The runs use different load models (${oldR.load.model} vs ${newR.load.model}): their latencies are not comparable.`,
      { code: 'INCOMPARABLE' },
    );
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
  // One request name (single-URL mode): the overall row carries the same numbers; count it once.
  const shown = names.length === 2 ? names.filter((n) => n !== OVERALL) : names;
  for (const name of shown) {
    const o = oldR.requests.find((q) => q.name === name);
    const n = newR.requests.find((q) => q.name === name);
    const label = name === OVERALL ? 'all requests' : name;
    rows.push(
      row(
        label,
        'rps',
        o?.rps,
        n?.rps,
        'higher',
        fewer,
        throughputSignificant(
          o?.requests ?? 0,
          oldR.measuredMs / 1000,
          n?.requests ?? 0,
          newR.measuredMs / 1000,
        ),
      ),
    );
    rows.push(
      row(
        label,
        'failure rate',
        o?.failureRate,
        n?.failureRate,
        'lower',
        moreErrors,
        ratesSignificant(o?.failed ?? 0, o?.requests ?? 0, n?.failed ?? 0, n?.requests ?? 0),
      ),
    );
    rows.push(
      ...percentileRows(
        label,
        ['med', 'p95', 'p99'],
        o?.latency,
        n?.latency,
        histogramOf(oldR, name),
        histogramOf(newR, name),
        slower,
      ),
    );
  }
  for (const m of newR.metrics) {
    if (m.type !== 'trend' || m.metric === 'iteration_duration') continue;
    const o = oldR.metrics.find((x) => x.metric === m.metric && x.name === m.name && x.type === 'trend');
    const label = `${m.metric}${m.name === OVERALL ? '' : `{${m.name}}`}`;
    const key = metricKey(m.metric, m.name);
    rows.push(
      ...percentileRows(
        label,
        ['p95', 'p99'],
        o && o.type === 'trend' ? o : undefined,
        m,
        histogramOf(oldR, undefined, key),
        histogramOf(newR, undefined, key),
        slower,
      ),
    );
  }
  for (const m of newR.metrics) {
    if (m.type !== 'rate' || m.name !== OVERALL) continue;
    const o = oldR.metrics.find((x) => x.metric === m.metric && x.name === OVERALL && x.type === 'rate');
    const ro = o && o.type === 'rate' ? o : undefined;
    // checks count passes: fewer is worse; execution_errors count failures: more is worse.
    const higherBetter = m.metric === 'checks';
    rows.push(
      row(
        m.metric,
        'rate',
        ro ? ro.rate : null,
        m.rate,
        higherBetter ? 'higher' : 'lower',
        (a, b) => (higherBetter ? a - b > opts.errorTolerance : b - a > opts.errorTolerance),
        ro ? ratesSignificant(ro.hits, ro.total, m.hits, m.total) : null,
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
  const load = (arg: string, which: 'OLD' | 'NEW') => {
    const files = arg.split(',').map((f) => f.trim());
    if (files.some((f) => f === ''))
      throw new UserError(`${which} ("${arg}") holds an empty path.`, {
        code: 'REPORT',
        suggestion: 'Give a bench JSON report, or several shard reports separated by commas.',
      });
    const reports = files.map(readReport);
    checkMergeable(reports, files);
    return { files, report: mergeReports(reports) };
  };
  const o = load(oldArg, 'OLD');
  const n = load(newArg, 'NEW');
  checkComparable(o.report, n.report);
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

const isWorse = (row: CompareRow) => (row.better === 'lower' ? (row.delta ?? 0) > 0 : (row.delta ?? 0) < 0);

/** The comparison as a table: every figure, old → new, the change, and REGRESSION marks. */
export function renderCompare(
  r: CompareResult,
  renderTable: (h: string[], rows: Array<Array<string | number | null>>) => string,
): string {
  const lines = [
    `old: ${r.old.files.join(', ')} (${r.old.startedAt})`,
    `new: ${r.new.files.join(', ')} (${r.new.startedAt})`,
    `tolerance: ${r.tolerancePct}% for latency and throughput, +${(r.errorTolerance * 100).toFixed(2)} points for failure rates`,
    `${significanceRule}; a REGRESSION is worse than the tolerance and significant`,
    '',
    renderTable(
      ['NAME', 'FIGURE', 'OLD', 'NEW', 'CHANGE', 'SIGNIFICANT', 'VERDICT'],
      r.rows.map((row) => [
        row.name,
        row.figure,
        fmtFigure(row.figure, row.old),
        fmtFigure(row.figure, row.new),
        changeText(row),
        row.significant === null ? 'n/a' : row.significant ? 'yes' : 'no',
        row.regression
          ? 'REGRESSION'
          : row.delta === 0 || row.delta === null
            ? ''
            : isWorse(row)
              ? 'worse'
              : 'better',
      ]),
    ),
  ];
  for (const t of r.newlyFailing) lines.push(`threshold now failing: ${t}`);
  lines.push(
    r.regressions === 0 ? 'no regressions' : `${r.regressions} regression${r.regressions > 1 ? 's' : ''}`,
  );
  return lines.join('\n');
}
