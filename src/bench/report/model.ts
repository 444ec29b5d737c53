import { readFileSync } from 'node:fs';
import { UserError } from '../../lib/errors.js';
import { maskUrl } from '../../lib/redact.js';
import type { StopReason } from '../engine.js';
import { type LatencySummary, percentileMs, summarizeHistogram } from '../histogram.js';
import {
  MetricStore,
  type MetricStoreJson,
  type NameSummary,
  OVERALL,
  parseMetricKey,
  type SeriesPoint,
  seriesPoints,
  summarizeRequests,
} from '../metrics.js';
import type { BenchOutcome, BenchPlan } from '../run.js';
import type { Stage } from '../stages.js';
import { evaluateThresholds, parseThreshold, type ThresholdResult } from '../thresholds.js';

export const REPORT_FORMAT = 'sentinel-ctl-bench/1';

/** Figures of the scenario metrics other than the per-request ones (e2e_duration, checks, ...). */
export type MetricFigure =
  | ({ metric: string; name: string; type: 'trend' } & LatencySummary)
  | { metric: string; name: string; type: 'counter'; count: number; rate: number }
  | { metric: string; name: string; type: 'rate'; rate: number; hits: number; total: number };

export interface SelfFigures {
  eventLoopUtilization: number;
  /** null when nothing was measured (no think time in a closed model: nothing is scheduled). */
  eventLoopLagMs: { p50: number | null; p99: number | null; max: number | null };
  schedulingDelayMs: { p50: number | null; p99: number | null; max: number | null };
}

/**
 * A run as every reporter sees it. `data` holds the encoded histograms, so a report read back
 * can be merged with another (shards of one run) or compared with an older one exactly.
 */
export interface BenchReport {
  format: typeof REPORT_FORMAT;
  scenario: { name: string; kind: 'http' | 'sentinel'; baseUrl: string; file?: string };
  load: {
    model: 'closed' | 'open';
    startLevel: number;
    stages: Stage[];
    warmupMs: number;
    iterations?: number;
    workers: number;
    maxVUs: number;
    connections: number | null;
  };
  startedAt: string;
  measuredMs: number;
  stopReason: StopReason;
  abortedBy?: string;
  passed: boolean;
  thresholds: ThresholdResult[];
  requests: NameSummary[];
  metrics: MetricFigure[];
  series: SeriesPoint[];
  warmup: { requests: number; failed: number; latency: LatencySummary } | null;
  gauges: { vus: number; vus_max: number };
  self: SelfFigures;
  warnings: string[];
  data: { main: MetricStoreJson; warmup: MetricStoreJson | null };
}

/** The command's result: the report without the encoded histograms. */
export type BenchResult = Omit<BenchReport, 'data'>;

/** Summaries of the keyed metrics of a store, sorted by metric then name. */
export function metricFigures(store: MetricStore, durationMs: number): MetricFigure[] {
  const out: MetricFigure[] = [];
  const secs = durationMs / 1000;
  for (const [key, h] of store.trends) {
    out.push({ ...parseMetricKey(key), type: 'trend', ...summarizeHistogram(h) });
  }
  for (const [key, n] of store.counters) {
    out.push({ ...parseMetricKey(key), type: 'counter', count: n, rate: secs > 0 ? n / secs : 0 });
  }
  for (const [key, c] of store.rates) {
    out.push({
      ...parseMetricKey(key),
      type: 'rate',
      rate: c.total ? c.hits / c.total : 0,
      hits: c.hits,
      total: c.total,
    });
  }
  const rank = (f: MetricFigure) => (f.name === OVERALL ? '~' : f.name);
  return out.sort((a, b) => a.metric.localeCompare(b.metric) || rank(a).localeCompare(rank(b)));
}

function selfFigures(o: BenchOutcome['self']): SelfFigures {
  const f = (h: typeof o.eventLoopLag) => ({
    p50: nz(percentileMs(h, 50)),
    p99: nz(percentileMs(h, 99)),
    max: nz(percentileMs(h, 100)),
  });
  return {
    eventLoopUtilization: Math.round(o.eventLoopUtilization * 1000) / 1000,
    eventLoopLagMs: f(o.eventLoopLag),
    schedulingDelayMs: f(o.schedulingDelay),
  };
}

const nz = (v: number) => (Number.isNaN(v) ? null : v);

function warmupFigures(store: MetricStore): BenchReport['warmup'] {
  const all = store.requests.get(OVERALL);
  if (!all || all.count === 0) return null;
  return { requests: all.count, failed: all.failed, latency: summarizeHistogram(all.duration) };
}

/** Builds the report of a finished run. */
export function buildReport(plan: BenchPlan, outcome: BenchOutcome): BenchReport {
  const { spec } = plan.scenario;
  return {
    format: REPORT_FORMAT,
    scenario: { name: spec.name, kind: spec.kind, baseUrl: maskUrl(spec.baseUrl), file: plan.scenario.file },
    load: {
      model: plan.load.model,
      startLevel: plan.load.startLevel,
      stages: plan.load.stages,
      warmupMs: plan.load.warmupMs,
      iterations: plan.load.iterations,
      workers: plan.load.workers,
      maxVUs: plan.load.maxVUs,
      connections: plan.load.connections,
    },
    startedAt: outcome.startedAt.toISOString(),
    measuredMs: Math.round(outcome.measuredMs),
    stopReason: outcome.stopReason,
    abortedBy: outcome.abortedBy,
    passed: outcome.thresholds.every((t) => t.pass),
    thresholds: outcome.thresholds,
    requests: summarizeRequests(outcome.main, outcome.measuredMs),
    metrics: metricFigures(outcome.main, outcome.measuredMs),
    series: seriesPoints(outcome.main),
    warmup: warmupFigures(outcome.warmup),
    gauges: outcome.gauges,
    self: selfFigures(outcome.self),
    warnings: outcome.warnings,
    data: { main: outcome.main.toJSON(), warmup: outcome.warmup.isEmpty() ? null : outcome.warmup.toJSON() },
  };
}

/** Reads a JSON report written by `bench --out json=FILE` (exit 2 when it is not one). */
export function readReport(file: string): BenchReport {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`Cannot read ${file} as a bench report: ${(error as Error).message}`, {
      code: 'REPORT',
    });
  }
  // Accept the --json envelope too: {status, result} where result is a report with data.
  const candidate = (doc as { result?: unknown })?.result ?? doc;
  const r = candidate as Partial<BenchReport>;
  if (r?.format !== REPORT_FORMAT || !r.data?.main) {
    throw new UserError(`${file} is not a bench JSON report (format ${REPORT_FORMAT}).`, {
      code: 'REPORT',
      suggestion: 'Write one with: sentinel-ctl bench ... --out json=FILE',
    });
  }
  return r as BenchReport;
}

/**
 * Merges reports of shards of one run (several machines, or several processes): histograms and
 * counters add up, the measured period is the longest, thresholds are evaluated again on the sum.
 */
export function mergeReports(reports: BenchReport[]): BenchReport {
  if (reports.length === 1) return reports[0]!;
  const main = new MetricStore();
  const warm = new MetricStore();
  for (const r of reports) {
    main.merge(MetricStore.fromJSON(r.data.main));
    if (r.data.warmup) warm.merge(MetricStore.fromJSON(r.data.warmup));
  }
  const first = reports[0]!;
  const measuredMs = Math.max(...reports.map((r) => r.measuredMs));
  const gauges = {
    vus: reports.reduce((a, r) => a + r.gauges.vus, 0),
    vus_max: reports.reduce((a, r) => a + r.gauges.vus_max, 0),
  };
  const defs = first.thresholds.map((t) =>
    parseThreshold({ key: t.metric, expression: t.expression, source: t.source }),
  );
  const thresholds = evaluateThresholds(defs, { store: main, durationMs: measuredMs, gauges }).map(
    (t, i) => ({
      ...t,
      abortOnFail: first.thresholds[i]!.abortOnFail,
    }),
  );
  return {
    ...first,
    load: { ...first.load, workers: reports.reduce((a, r) => a + r.load.workers, 0) },
    measuredMs,
    passed: thresholds.every((t) => t.pass),
    thresholds,
    requests: summarizeRequests(main, measuredMs),
    metrics: metricFigures(main, measuredMs),
    series: seriesPoints(main),
    warmup: warmupFigures(warm),
    gauges,
    self: {
      eventLoopUtilization: Math.max(...reports.map((r) => r.self.eventLoopUtilization)),
      eventLoopLagMs: first.self.eventLoopLagMs,
      schedulingDelayMs: first.self.schedulingDelayMs,
    },
    warnings: reports.flatMap((r) => r.warnings),
    data: { main: main.toJSON(), warmup: warm.isEmpty() ? null : warm.toJSON() },
  };
}

/** The report as the command returns it (and `--json` prints): without the encoded data. */
export function toResult(report: BenchReport): BenchResult {
  const { data: _data, ...rest } = report;
  return rest;
}
