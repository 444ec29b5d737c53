import {
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  type Histogram,
  type LatencySummary,
  percentileMs,
  recordMs,
  summarizeHistogram,
} from './histogram.js';

/**
 * Why a request counted as failed: an unexpected status, a failed check (capture, body), or no
 * response at all, by cause as k6's error codes split them (timeout, connection refused, reset,
 * DNS, TLS; `network` for any other transport error).
 */
export const failureKinds = [
  'status',
  'check',
  'timeout',
  'refused',
  'reset',
  'dns',
  'tls',
  'network',
] as const;
export type FailureKind = (typeof failureKinds)[number];
export type FailureCounts = Record<FailureKind, number>;

/** The transport causes: no response came back (the target, or the way to it, failed). */
export const transportKinds: readonly FailureKind[] = failureKinds.slice(2);

export const noFailures = (): FailureCounts =>
  Object.fromEntries(failureKinds.map((k) => [k, 0])) as FailureCounts;

function addFailures(into: Partial<FailureCounts>, from: Partial<FailureCounts>): void {
  for (const k of failureKinds) if (from[k]) into[k] = (into[k] ?? 0) + from[k]!;
}

/** The per-request-name figures; the entry named OVERALL aggregates every name. */
export interface RequestStats {
  method: string;
  count: number;
  failed: number;
  failures: FailureCounts;
  bytes: number;
  duration: Histogram;
}

/** One second of the run, for the charts and the CSV history. */
export interface SeriesBucket {
  requests: number;
  failures: number;
  /** Failures of the second by cause (only the causes that occurred). */
  causes: Partial<FailureCounts>;
  iterations: number;
  dropped: number;
  /** Most VUs busy during the second (summed over threads and shards). */
  vus: number;
  /** Open model: the latest an arrival of this second was started after its due time, ms. */
  lateMax: number;
  latency: Histogram;
}

export const OVERALL = '*';

interface RateCell {
  hits: number;
  total: number;
}

/**
 * Everything one phase of a run measured. Request figures go straight into per-name records (the
 * hot path: two histogram records and a few increments per request); the rarer metrics of the
 * scenarios (e2e_duration, checks, poll_timeouts, ...) live in keyed maps. A store is mergeable:
 * worker threads send one every second and the main thread adds them up, and stores read back
 * from JSON reports merge the same way (shards of one run, or a run and its re-run).
 */
export class MetricStore {
  readonly requests = new Map<string, RequestStats>();
  readonly trends = new Map<string, Histogram>();
  readonly counters = new Map<string, number>();
  readonly rates = new Map<string, RateCell>();
  readonly series = new Map<number, SeriesBucket>();
  private iterationTrend?: Histogram;

  /** Returns the record of one request name (creating it), for callers that record often. */
  stats(name: string, method = ''): RequestStats {
    let s = this.requests.get(name);
    if (!s) {
      s = {
        method,
        count: 0,
        failed: 0,
        failures: noFailures(),
        bytes: 0,
        duration: createHistogram(),
      };
      this.requests.set(name, s);
    } else if (!s.method && method) s.method = method;
    return s;
  }

  bucket(second: number): SeriesBucket {
    let b = this.series.get(second);
    if (!b) {
      b = {
        requests: 0,
        failures: 0,
        causes: {},
        iterations: 0,
        dropped: 0,
        vus: 0,
        lateMax: 0,
        latency: createHistogram(2),
      };
      this.series.set(second, b);
    }
    return b;
  }

  /** One HTTP request: duration in ms, `failure` when it did not meet its expectation. */
  recordRequest(
    name: string,
    method: string,
    ms: number,
    bytes: number,
    failure: FailureKind | undefined,
    second: number | undefined,
  ): void {
    // The hot path: no arrays or closures per request, just two records.
    tally(this.requests.get(name) ?? this.stats(name, method), ms, bytes, failure);
    tally(this.requests.get(OVERALL) ?? this.stats(OVERALL), ms, bytes, failure);
    if (second !== undefined) {
      const b = this.bucket(second);
      b.requests += 1;
      if (failure) {
        b.failures += 1;
        b.causes[failure] = (b.causes[failure] ?? 0) + 1;
      }
      recordMs(b.latency, ms);
    }
  }

  /** One finished iteration (duration in ms): iteration_duration, iterations, the second's count. */
  recordIteration(ms: number, second: number | undefined): void {
    // Once per request in single-URL mode: the histogram found once, not through keysFor.
    let h = this.iterationTrend;
    if (!h) {
      h = this.trends.get(ITERATION_DURATION);
      if (!h) {
        h = createHistogram();
        this.trends.set(ITERATION_DURATION, h);
      }
      this.iterationTrend = h;
    }
    recordMs(h, ms);
    this.counters.set(ITERATIONS, (this.counters.get(ITERATIONS) ?? 0) + 1);
    if (second !== undefined) this.bucket(second).iterations += 1;
  }

  /** A value of a trend metric (ms), kept per name and overall. */
  addTrend(metric: string, name: string, ms: number): void {
    for (const key of keysFor(metric, name)) {
      let h = this.trends.get(key);
      if (!h) {
        h = createHistogram();
        this.trends.set(key, h);
      }
      recordMs(h, ms);
    }
  }

  addCount(metric: string, name: string, n = 1): void {
    for (const key of keysFor(metric, name)) {
      this.counters.set(key, (this.counters.get(key) ?? 0) + n);
    }
  }

  /** A sample of a rate metric: `hit` is the non-zero case k6 counts (a failure for *_failed/errors). */
  addRate(metric: string, name: string, hit: boolean): void {
    for (const key of keysFor(metric, name)) {
      const cell = this.rates.get(key) ?? { hits: 0, total: 0 };
      cell.total += 1;
      if (hit) cell.hits += 1;
      this.rates.set(key, cell);
    }
  }

  counter(metric: string, name = OVERALL): number {
    return this.counters.get(metricKey(metric, name)) ?? 0;
  }

  rate(metric: string, name = OVERALL): RateCell | undefined {
    return this.rates.get(metricKey(metric, name));
  }

  trend(metric: string, name = OVERALL): Histogram | undefined {
    return this.trends.get(metricKey(metric, name));
  }

  /** True when nothing has been recorded (a worker skips sending an empty delta). */
  isEmpty(): boolean {
    return (
      this.requests.size === 0 &&
      this.trends.size === 0 &&
      this.counters.size === 0 &&
      this.rates.size === 0 &&
      this.series.size === 0
    );
  }

  /** Adds another store into this one. */
  merge(other: MetricStore): void {
    for (const [name, o] of other.requests) {
      const s = this.stats(name, o.method);
      s.count += o.count;
      s.failed += o.failed;
      addFailures(s.failures, o.failures);
      s.bytes += o.bytes;
      s.duration.add(o.duration);
    }
    for (const [key, h] of other.trends) {
      const mine = this.trends.get(key);
      if (mine) mine.add(h);
      else {
        const copy = createHistogram();
        copy.add(h);
        this.trends.set(key, copy);
      }
    }
    for (const [key, n] of other.counters) this.counters.set(key, (this.counters.get(key) ?? 0) + n);
    for (const [key, c] of other.rates) {
      const mine = this.rates.get(key) ?? { hits: 0, total: 0 };
      this.rates.set(key, { hits: mine.hits + c.hits, total: mine.total + c.total });
    }
    for (const [sec, o] of other.series) {
      const b = this.bucket(sec);
      b.requests += o.requests;
      b.failures += o.failures;
      addFailures(b.causes, o.causes);
      b.iterations += o.iterations;
      b.dropped += o.dropped;
      b.vus += o.vus;
      b.lateMax = Math.max(b.lateMax, o.lateMax);
      b.latency.add(o.latency);
    }
  }

  toJSON(): MetricStoreJson {
    return {
      requests: [...this.requests].map(([name, s]) => ({
        name,
        method: s.method,
        count: s.count,
        failed: s.failed,
        failures: { ...s.failures },
        bytes: s.bytes,
        duration: encodeHistogram(s.duration),
      })),
      trends: Object.fromEntries([...this.trends].map(([k, h]) => [k, encodeHistogram(h)])),
      counters: Object.fromEntries(this.counters),
      rates: Object.fromEntries(this.rates),
      series: [...this.series]
        .sort((a, b) => a[0] - b[0])
        .map(([second, b]) => ({
          second,
          ...bucketCounts(b),
          lateMax: Math.round(b.lateMax * 1000) / 1000,
          latency: encodeHistogram(b.latency),
        })),
    };
  }

  static fromJSON(json: MetricStoreJson): MetricStore {
    const store = new MetricStore();
    for (const r of json.requests) {
      store.requests.set(r.name, {
        method: r.method,
        count: r.count,
        failed: r.failed,
        failures: {
          ...noFailures(),
          ...(r.failures ?? legacyFailures(r as unknown as Record<string, number>)),
        },
        bytes: r.bytes,
        duration: decodeHistogram(r.duration),
      });
    }
    for (const [k, v] of Object.entries(json.trends)) store.trends.set(k, decodeHistogram(v));
    for (const [k, v] of Object.entries(json.counters)) store.counters.set(k, v);
    for (const [k, v] of Object.entries(json.rates)) store.rates.set(k, { hits: v.hits, total: v.total });
    for (const b of json.series) {
      store.series.set(b.second, {
        requests: b.requests,
        failures: b.failures,
        causes: { ...b.causes },
        iterations: b.iterations,
        dropped: b.dropped,
        vus: b.vus ?? 0,
        lateMax: b.lateMax ?? 0,
        latency: decodeHistogram(b.latency),
      });
    }
    return store;
  }
}

/** The serialised store: histograms in HdrHistogram's compressed base64. */
export interface MetricStoreJson {
  requests: Array<Omit<RequestStats, 'duration'> & { name: string; duration: string }>;
  trends: Record<string, string>;
  counters: Record<string, number>;
  rates: Record<string, RateCell>;
  series: Array<Omit<SeriesBucket, 'latency'> & { second: number; latency: string }>;
}

/** Reports of format 1 kept three counters (failStatus, failNetwork, failCheck). */
function legacyFailures(r: Record<string, number>): Partial<FailureCounts> {
  return { status: r.failStatus ?? 0, network: r.failNetwork ?? 0, check: r.failCheck ?? 0 };
}

function tally(s: RequestStats, ms: number, bytes: number, failure: FailureKind | undefined): void {
  s.count += 1;
  s.bytes += bytes;
  recordMs(s.duration, ms);
  if (failure) {
    s.failed += 1;
    s.failures[failure] += 1;
  }
}

/** A value recorded under a name also counts overall; one recorded overall counts once. */
function keysFor(metric: string, name: string): string[] {
  // Cached: iteration metrics are recorded once per iteration, tens of thousands per second.
  let byName = keyCache.get(metric);
  if (!byName) {
    byName = new Map();
    keyCache.set(metric, byName);
  }
  let keys = byName.get(name);
  if (!keys) {
    keys =
      name === OVERALL ? [metricKey(metric, OVERALL)] : [metricKey(metric, name), metricKey(metric, OVERALL)];
    byName.set(name, keys);
  }
  return keys;
}
const keyCache = new Map<string, Map<string, string[]>>();
const ITERATION_DURATION = metricKey('iteration_duration', OVERALL);
const ITERATIONS = metricKey('iterations', OVERALL);

export function metricKey(metric: string, name: string): string {
  return `${metric}{${name}}`;
}

/** Splits `metric{name}` keys back, for listing what a store holds. */
export function parseMetricKey(key: string): { metric: string; name: string } {
  const i = key.indexOf('{');
  return { metric: key.slice(0, i), name: key.slice(i + 1, -1) };
}

/** One row of the per-name table (terminal, CSV, HTML, JSON). */
export interface NameSummary {
  name: string;
  method: string;
  requests: number;
  rps: number;
  failed: number;
  failureRate: number;
  failures: FailureCounts;
  bytes: number;
  latency: LatencySummary;
}

/** One second of the series as plotted: counts and latency percentiles (ms). */
export interface SeriesPoint {
  second: number;
  requests: number;
  failures: number;
  /** Failures of the second by cause (zero causes left out). */
  causes: Partial<FailureCounts>;
  iterations: number;
  dropped: number;
  vus: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarizeName(name: string, s: RequestStats, durationMs: number): NameSummary {
  const secs = durationMs / 1000;
  return {
    name,
    method: s.method,
    requests: s.count,
    rps: secs > 0 ? Math.round((s.count / secs) * 100) / 100 : 0,
    failed: s.failed,
    failureRate: s.count > 0 ? s.failed / s.count : 0,
    failures: { ...s.failures },
    bytes: s.bytes,
    latency: summarizeHistogram(s.duration),
  };
}

/** Per-name rows sorted by name, then the overall row last (as Locust prints "Aggregated"). */
export function summarizeRequests(store: MetricStore, durationMs: number): NameSummary[] {
  const names = [...store.requests.keys()].filter((n) => n !== OVERALL).sort();
  const rows = names.map((n) => summarizeName(n, store.requests.get(n)!, durationMs));
  rows.push(summarizeName(OVERALL, store.requests.get(OVERALL) ?? store.stats(OVERALL), durationMs));
  return rows;
}

/** The counts of a second (a copy), for the stored report and the chart points. */
function bucketCounts(
  b: SeriesBucket,
): Pick<SeriesBucket, 'requests' | 'failures' | 'causes' | 'iterations' | 'dropped' | 'vus'> {
  return {
    requests: b.requests,
    failures: b.failures,
    causes: { ...b.causes },
    iterations: b.iterations,
    dropped: b.dropped,
    vus: b.vus,
  };
}

export function seriesPoints(store: MetricStore): SeriesPoint[] {
  return [...store.series]
    .sort((a, b) => a[0] - b[0])
    .map(([second, b]) => ({
      second,
      ...bucketCounts(b),
      p50: percentileMs(b.latency, 50),
      p90: percentileMs(b.latency, 90),
      p95: percentileMs(b.latency, 95),
      p99: percentileMs(b.latency, 99),
      max: percentileMs(b.latency, 100),
    }));
}
