import { UserError } from '../../lib/errors.js';
import { readJsonInput } from '../../lib/fs.js';
import { maskUrl } from '../../lib/redact.js';
import type { StopReason } from '../engine.js';
import {
  createHistogram,
  type Histogram,
  type LatencySummary,
  percentileMs,
  summarizeHistogram,
} from '../histogram.js';
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
import {
  evaluateThresholds,
  parseThreshold,
  type ThresholdDef,
  type ThresholdResult,
} from '../thresholds.js';

export const REPORT_FORMAT = 'sentinel-ctl-bench/2';
/** Older reports that still read (failures then had three causes: status, network, check). */
const READABLE_FORMATS = ['sentinel-ctl-bench/1', REPORT_FORMAT];

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
  /** Requests sent before the clock started, to open connections and warm the JIT (not measured). */
  primed?: number;
}

/**
 * How much of the run's tail came from its first second (a cold generator or target), for runs
 * without a warm-up: the first second's p99, the p99 of the other seconds, and the share of the
 * requests slower than the run's p99 that completed in the first second.
 */
export interface ColdStart {
  firstSecond: { requests: number; p99: number };
  restP99: number;
  runP99: number;
  tailShare: number;
}

/**
 * A run as every reporter sees it. `data` holds the encoded histograms, so a report read back
 * can be merged with another (shards of one run) or compared with an older one exactly.
 */
export interface BenchReport {
  format: typeof REPORT_FORMAT;
  scenario: {
    name: string;
    kind: 'http' | 'sentinel';
    baseUrl: string;
    file?: string;
    /** Sentinel scenario: time between status polls (ms). */
    pollIntervalMs?: number;
  };
  load: {
    model: 'closed' | 'open';
    startLevel: number;
    stages: Stage[];
    warmupMs: number;
    iterations?: number;
    workers: number;
    maxVUs: number;
    connections: number | null;
    timeoutMs?: number;
  };
  /** `--shard i/N`: which share of the test this report holds (absent: the whole test). */
  shard?: { index: number; count: number };
  /** Merged reports: the shards they came from. */
  shards?: Array<{ index: number; count: number; startDelayMs: number }>;
  startedAt: string;
  /** When the measured period began, epoch ms (shards' series line up on it). */
  measuredStart?: number;
  /** `--start-at` given: how late this process started its schedule, ms. */
  startDelayMs?: number;
  measuredMs: number;
  stopReason: StopReason;
  abortedBy?: string;
  passed: boolean;
  thresholds: ThresholdResult[];
  requests: NameSummary[];
  metrics: MetricFigure[];
  series: SeriesPoint[];
  warmup: { requests: number; failed: number; latency: LatencySummary } | null;
  coldStart: ColdStart | null;
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
    primed: o.primed,
  };
}

/** The share of a histogram's values above `ms`, by bisection on the percentile (HDR precision). */
function shareAbove(h: Histogram, ms: number): number {
  if (h.totalCount === 0) return 0;
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (h.getValueAtPercentile(mid) / 1000 > ms) hi = mid;
    else lo = mid;
  }
  return 1 - hi / 100;
}

/** The first second against the rest (see ColdStart); null with a warm-up or under two seconds. */
export function coldStart(store: MetricStore, warmupMs: number): ColdStart | null {
  if (warmupMs > 0) return null;
  const first = store.series.get(0);
  const restSeconds = [...store.series].filter(([s]) => s > 0);
  if (!first || first.requests === 0 || restSeconds.length === 0) return null;
  const rest = createHistogram(2);
  for (const [, b] of restSeconds) rest.add(b.latency);
  const all = createHistogram(2);
  all.add(rest);
  all.add(first.latency);
  const runP99 = percentileMs(all, 99);
  const above = shareAbove(first.latency, runP99) * first.latency.totalCount;
  const aboveAll = shareAbove(all, runP99) * all.totalCount;
  return {
    firstSecond: { requests: first.requests, p99: percentileMs(first.latency, 99) },
    restP99: percentileMs(rest, 99),
    runP99,
    tailShare: aboveAll > 0 ? Math.round((above / aboveAll) * 1000) / 1000 : 0,
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
    scenario: {
      name: spec.name,
      kind: spec.kind,
      baseUrl: maskUrl(spec.baseUrl),
      file: plan.scenario.file,
      ...(spec.kind === 'sentinel' ? { pollIntervalMs: spec.pollIntervalMs } : {}),
    },
    load: {
      model: plan.load.model,
      startLevel: plan.load.startLevel,
      stages: plan.load.stages,
      warmupMs: plan.load.warmupMs,
      iterations: plan.load.iterations,
      workers: plan.load.workers,
      maxVUs: plan.load.maxVUs,
      connections: plan.load.connections,
      timeoutMs: plan.load.timeoutMs,
    },
    shard: plan.load.shard,
    startedAt: outcome.startedAt.toISOString(),
    measuredStart: Math.round(outcome.measuredStart),
    startDelayMs: outcome.startDelayMs,
    measuredMs: Math.round(outcome.measuredMs),
    stopReason: outcome.stopReason,
    abortedBy: outcome.abortedBy,
    passed: outcome.thresholds.every((t) => t.pass),
    thresholds: outcome.thresholds,
    requests: summarizeRequests(outcome.main, outcome.measuredMs),
    metrics: metricFigures(outcome.main, outcome.measuredMs),
    series: seriesPoints(outcome.main),
    warmup: warmupFigures(outcome.warmup),
    coldStart: coldStart(outcome.main, plan.load.warmupMs),
    gauges: outcome.gauges,
    self: selfFigures(outcome.self),
    warnings: outcome.warnings,
    data: { main: outcome.main.toJSON(), warmup: outcome.warmup.isEmpty() ? null : outcome.warmup.toJSON() },
  };
}

/** Reads a JSON report written by `bench --out json=FILE` (exit 2 when it is not one). */
export function readReport(file: string): BenchReport {
  const suggestion = 'Write one with: sentinel-ctl bench ... --out json=FILE';
  const doc = readJsonInput(file, 'a bench JSON report', { code: 'REPORT', suggestion });
  // Accept the --json envelope too: {status, result} where result is a report with data.
  const candidate = (doc as { result?: unknown })?.result ?? doc;
  const r = candidate as Partial<BenchReport>;
  const obj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const whole =
    obj(r) &&
    obj(r.scenario) &&
    obj(r.load) &&
    Array.isArray(r.thresholds) &&
    obj(r.data) &&
    obj(r.data?.main) &&
    Array.isArray(r.requests);
  if (!READABLE_FORMATS.includes(r?.format as string) || !whole) {
    throw new UserError(
      READABLE_FORMATS.includes(r?.format as string)
        ? `${file} is an incomplete bench JSON report (scenario, load, thresholds, requests or data missing).`
        : `${file} is not a bench JSON report (format ${REPORT_FORMAT}).`,
      { code: 'REPORT', suggestion },
    );
  }
  return r as BenchReport;
}

/** Settings that must be equal for reports to be parts of one test. */
function testIdentity(r: BenchReport) {
  return {
    scenario: `${r.scenario.kind} ${r.scenario.name} → ${r.scenario.baseUrl}`,
    model: r.load.model,
    schedule: JSON.stringify([r.load.startLevel, r.load.stages, r.load.warmupMs, r.load.iterations ?? null]),
    shards: r.shard?.count ?? 1,
  };
}

/**
 * Checks that reports are shards of one test: same scenario and target, model, schedule, shard
 * count, and each shard once (exit 2 otherwise, naming the first difference).
 */
export function checkMergeable(reports: BenchReport[], files: string[]): void {
  const first = testIdentity(reports[0]!);
  const labels: Record<keyof typeof first, string> = {
    scenario: 'scenario/target',
    model: 'load model',
    schedule: 'schedule (start level, stages, warm-up, iterations)',
    shards: 'shard count',
  };
  reports.forEach((r, i) => {
    const id = testIdentity(r);
    for (const k of Object.keys(first) as Array<keyof typeof first>) {
      if (id[k] !== first[k])
        throw new UserError(
          `${files[i]} is not a part of the same test as ${files[0]}: the ${labels[k]} differs (${id[k]} vs ${first[k]}).`,
          {
            code: 'INCOMPATIBLE',
            suggestion: 'Merge only the shard reports of one test (same flags but --shard).',
          },
        );
    }
  });
  const sharded = reports.filter((r) => r.shard);
  if (sharded.length > 0) {
    if (sharded.length !== reports.length)
      throw new UserError('Some reports are shards (--shard) and some are whole tests.', {
        code: 'INCOMPATIBLE',
      });
    const seen = new Map<number, string>();
    reports.forEach((r, i) => {
      const other = seen.get(r.shard!.index);
      if (other)
        throw new UserError(`${files[i]} and ${other} are both shard ${r.shard!.index}/${r.shard!.count}.`, {
          code: 'INCOMPATIBLE',
          suggestion: 'Give each shard report once.',
        });
      seen.set(r.shard!.index, files[i]!);
    });
  }
}

/**
 * Merges reports of shards of one run (several machines, or several processes): histograms and
 * counters add up exactly; the series line up on each shard's measured start; rates use the common
 * window (first start to last end); thresholds (the shards', or `thresholds` when given) are
 * evaluated again on the merged data; the generator figures are the worst shard's.
 */
export function mergeReports(reports: BenchReport[], thresholds?: ThresholdDef[]): BenchReport {
  if (reports.length === 1 && !thresholds) return reports[0]!;
  const main = new MetricStore();
  const warm = new MetricStore();
  const starts = reports.map((r) => r.measuredStart ?? 0);
  const t0 = Math.min(...starts);
  reports.forEach((r, i) => {
    const store = MetricStore.fromJSON(r.data.main);
    // A shard that started later has its seconds shifted so the merged series share one clock.
    const shift = Math.round((starts[i]! - t0) / 1000);
    if (shift > 0) {
      const moved = new Map([...store.series].map(([s, b]) => [s + shift, b]));
      store.series.clear();
      for (const [s, b] of moved) store.series.set(s, b);
    }
    main.merge(store);
    if (r.data.warmup) warm.merge(MetricStore.fromJSON(r.data.warmup));
  });
  const first = reports[0]!;
  const measuredMs = Math.max(...reports.map((r, i) => starts[i]! - t0 + r.measuredMs));
  const gauges = {
    vus: reports.reduce((a, r) => a + r.gauges.vus, 0),
    vus_max: reports.reduce((a, r) => a + r.gauges.vus_max, 0),
  };
  const defs =
    thresholds ??
    first.thresholds.map((t) =>
      parseThreshold({
        key: t.metric,
        expression: t.expression,
        source: t.source,
        abortOnFail: t.abortOnFail,
      }),
    );
  const evaluated = evaluateThresholds(defs, { store: main, durationMs: measuredMs, gauges });
  const worst = (pick: (r: BenchReport) => number | null) => {
    const vs = reports.map(pick).filter((v): v is number => v !== null);
    return vs.length ? Math.max(...vs) : null;
  };
  const selfWorst = (k: 'eventLoopLagMs' | 'schedulingDelayMs') => ({
    p50: worst((r) => r.self[k].p50),
    p99: worst((r) => r.self[k].p99),
    max: worst((r) => r.self[k].max),
  });
  return {
    ...first,
    load: { ...first.load, workers: reports.reduce((a, r) => a + r.load.workers, 0) },
    shard: undefined,
    shards: reports
      .filter((r) => r.shard)
      .map((r) => ({ ...r.shard!, startDelayMs: r.startDelayMs ?? 0 }))
      .sort((a, b) => a.index - b.index),
    measuredStart: t0,
    startDelayMs: undefined,
    measuredMs,
    stopReason: reports.find((r) => r.stopReason !== 'duration')?.stopReason ?? first.stopReason,
    abortedBy: reports.find((r) => r.abortedBy)?.abortedBy,
    passed: evaluated.every((t) => t.pass),
    thresholds: evaluated,
    requests: summarizeRequests(main, measuredMs),
    metrics: metricFigures(main, measuredMs),
    series: seriesPoints(main),
    warmup: warmupFigures(warm),
    coldStart: coldStart(main, first.load.warmupMs),
    gauges,
    self: {
      eventLoopUtilization: Math.max(...reports.map((r) => r.self.eventLoopUtilization)),
      eventLoopLagMs: selfWorst('eventLoopLagMs'),
      schedulingDelayMs: selfWorst('schedulingDelayMs'),
      primed: reports.reduce((a, r) => a + (r.self.primed ?? 0), 0),
    },
    warnings: reports.flatMap((r, i) =>
      r.warnings.map((w) =>
        reports.length > 1
          ? `${r.shard ? `shard ${r.shard.index}/${r.shard.count}` : `report ${i + 1}`}: ${w}`
          : w,
      ),
    ),
    data: { main: main.toJSON(), warmup: warm.isEmpty() ? null : warm.toJSON() },
  };
}

/** The report as the command returns it (and `--json` prints): without the encoded data. */
export function toResult(report: BenchReport): BenchResult {
  const { data: _data, ...rest } = report;
  return rest;
}
