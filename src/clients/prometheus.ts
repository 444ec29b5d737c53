/**
 * Prometheus text exposition → typed samples, for the worker's /metrics.
 *
 * Sample lines are parsed by `parse-prometheus-text-format` (its sample parser is a port of the
 * official Python client's: label escapes, NaN, ±Inf, timestamps). Its family grouping is not used:
 * it folds every series of a labelled histogram into one (prom-client writes one series per label
 * set, `le` first), which would lose `sentinel_execution_duration_seconds{language}`. So the `# TYPE`
 * lines are taken out before parsing, each sample then comes back with its own name and labels, and
 * histograms are regrouped here from the TYPE lines.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { HistogramBucket } from '../tuners/rabbitmq.js';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedMetrics {
  /** Metric family name → type (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>;
  samples: PromSample[];
}

/** A sample value as the exposition format writes it: `+Inf`, `-Inf`, `NaN` (prom-client writes `Nan`). */
export function parseSampleValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const n = Number(text);
  return Number.isNaN(n) ? Number.NaN : n;
}

/** Parses a whole exposition. Throws the library's error on a malformed sample line. */
export function parseMetrics(text: string): ParsedMetrics {
  const types = new Map<string, string>();
  const kept: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
    if (m) types.set(m[1]!, m[2]!.toLowerCase());
    else kept.push(line);
  }
  const samples: PromSample[] = [];
  // The library drops the last sample when the text does not end with a newline: always add one.
  for (const family of parsePrometheusTextFormat(`${kept.join('\n')}\n`)) {
    for (const s of family.metrics) {
      if (s.value === undefined) continue;
      samples.push({ name: family.name, labels: s.labels ?? {}, value: parseSampleValue(s.value) });
    }
  }
  return { types, samples };
}

/** Samples of one metric name whose labels include `match`. */
export function select(m: ParsedMetrics, name: string, match: Record<string, string> = {}): PromSample[] {
  return m.samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
}

/** The sum of a metric over all its series (undefined when the metric is absent). */
export function sumOf(
  m: ParsedMetrics,
  name: string,
  match: Record<string, string> = {},
): number | undefined {
  const found = select(m, name, match);
  return found.length ? found.reduce((a, s) => a + s.value, 0) : undefined;
}

/** The sum of a metric grouped by one label. */
export function sumBy(m: ParsedMetrics, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of select(m, name)) {
    const key = s.labels[label] ?? '';
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/**
 * Cumulative buckets of a histogram (`<name>_bucket{le}`) with `le` in ms, summed over the series
 * whose other labels match `match` (all series when empty): summing cumulative counts bucket by
 * bucket is what `sum by (le)` does in PromQL.
 */
export function histogramBuckets(
  m: ParsedMetrics,
  name: string,
  match: Record<string, string> = {},
): HistogramBucket[] {
  const byLe = new Map<number, number>();
  for (const s of select(m, `${name}_bucket`, match)) {
    const le = s.labels.le;
    if (le === undefined) continue;
    const leMs = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le) * 1000;
    byLe.set(leMs, (byLe.get(leMs) ?? 0) + s.value);
  }
  return [...byLe].map(([leMs, count]) => ({ leMs, count })).sort((a, b) => a.leMs - b.leMs);
}

/** Bucket-wise increase between two snapshots of the same histogram (a reset counts from zero). */
export function bucketIncrease(prev: HistogramBucket[], cur: HistogramBucket[]): HistogramBucket[] {
  const before = new Map(prev.map((b) => [b.leMs, b.count]));
  const reset = cur.some((b) => b.count < (before.get(b.leMs) ?? 0));
  return cur.map((b) => ({ leMs: b.leMs, count: reset ? b.count : b.count - (before.get(b.leMs) ?? 0) }));
}
