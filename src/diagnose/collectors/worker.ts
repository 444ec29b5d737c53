/**
 * The worker's Prometheus endpoint (docs/design.md "The stack contract": sentinel_executions_total,
 * sentinel_execution_duration_seconds, sentinel_workers_active, sentinel_sandbox_failures_total, plus
 * sentinel_worker_pool_size / sentinel_executions_in_progress and the Node process metrics), and the
 * API's GET /api/v1/health.
 */

import {
  bucketIncrease,
  histogramBuckets,
  parseMetrics,
  select,
  sumBy,
  sumOf,
} from '../../clients/prometheus.js';
import { maskUrl } from '../../lib/redact.js';
import { sandboxOfMetrics } from '../../services/app.js';
import { type HistogramBucket, histogramQuantile } from '../../tuners/rabbitmq.js';
import type { ApiFacts, DurationPercentiles, WorkerFacts } from '../types.js';
import { withTimeout } from './timeout.js';
import { type Collector, increase, windowOf } from './types.js';

export const DURATION_METRIC = 'sentinel_execution_duration_seconds';

export interface WorkerSample {
  at: number;
  executionsByStatus: Record<string, number>;
  buckets: HistogramBucket[];
  bucketsByLanguage: Record<string, HistogramBucket[]>;
  workersActive: number | null;
  poolSize: number | null;
  inProgress: number | null;
  sandboxFailures: number | null;
  /** The driver from sentinel_sandbox_info ("nsjail (cgroups v1)"); null from a worker without it. */
  sandbox: string | null;
  processCpuSeconds: number | null;
  residentMemoryBytes: number | null;
  deadLettered: Record<string, number>;
}

/** Reads the metrics text into a sample (exported for tests that feed real prom-client output). */
export function workerSampleFromText(text: string, at: number): WorkerSample {
  const m = parseMetrics(text);
  const languages = Object.keys(sumBy(m, `${DURATION_METRIC}_count`, 'language')).filter(Boolean);
  return {
    at,
    executionsByStatus: sumBy(m, 'sentinel_executions_total', 'status'),
    buckets: histogramBuckets(m, DURATION_METRIC),
    bucketsByLanguage: Object.fromEntries(
      languages.map((l) => [l, histogramBuckets(m, DURATION_METRIC, { language: l })]),
    ),
    workersActive: sumOf(m, 'sentinel_workers_active') ?? null,
    poolSize: sumOf(m, 'sentinel_worker_pool_size') ?? null,
    inProgress: sumOf(m, 'sentinel_executions_in_progress') ?? null,
    sandboxFailures: sumOf(m, 'sentinel_sandbox_failures_total') ?? null,
    sandbox: sandboxOfMetrics(text) ?? null,
    processCpuSeconds: sumOf(m, 'process_cpu_seconds_total') ?? null,
    residentMemoryBytes: sumOf(m, 'process_resident_memory_bytes') ?? null,
    deadLettered: sumBy(m, 'sentinel_messages_dead_lettered_total', 'reason'),
  };
}

const r1 = (v: number | undefined) => (v === undefined ? null : Math.round(v * 10) / 10);

/** p50/p95/p99 of a cumulative histogram (le in ms); the window's increase when it has observations. */
export function percentiles(
  prev: HistogramBucket[] | undefined,
  cur: HistogramBucket[],
): DurationPercentiles {
  let buckets = cur;
  let over: DurationPercentiles['over'] = 'lifetime';
  if (prev) {
    const inc = bucketIncrease(prev, cur);
    if ((inc[inc.length - 1]?.count ?? 0) > 0) {
      buckets = inc;
      over = 'window';
    }
  }
  const total = buckets[buckets.length - 1]?.count ?? 0;
  const valid = buckets.length > 0 && buckets[buckets.length - 1]!.leMs === Number.POSITIVE_INFINITY;
  const q = (x: number) => (valid && total > 0 ? r1(histogramQuantile(x, buckets)) : null);
  return { count: total, p50Ms: q(0.5), p95Ms: q(0.95), p99Ms: q(0.99), over };
}

export class WorkerCollector implements Collector<WorkerSample, WorkerFacts> {
  readonly component = 'worker' as const;
  readonly target: string;

  constructor(
    private readonly url: string,
    /** The transport: plain fetch, or the API server's service proxy (src/k8s/client.ts). */
    private readonly fetch: typeof globalThis.fetch = globalThis.fetch,
  ) {
    this.target = maskUrl(url);
  }

  async sample(timeoutMs: number): Promise<WorkerSample> {
    const work = (async () => {
      const res = await this.fetch(this.url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`GET ${this.target} → HTTP ${res.status}`);
      return workerSampleFromText(await res.text(), Date.now());
    })();
    return withTimeout(work, timeoutMs);
  }

  derive(prev: WorkerSample | undefined, cur: WorkerSample): { facts: WorkerFacts; notes: string[] } {
    const window = windowOf(prev, cur);
    const notes: string[] = [];
    if (!prev) notes.push('one sample only: no rates');
    if (cur.workersActive === null) notes.push('sentinel_workers_active is not exported');
    let inWindow: Record<string, number> | null = null;
    if (prev) {
      inWindow = {};
      for (const [status, v] of Object.entries(cur.executionsByStatus)) {
        inWindow[status] = increase(prev.executionsByStatus[status], v);
      }
    }
    const cpu =
      prev && window > 0 && prev.processCpuSeconds !== null && cur.processCpuSeconds !== null
        ? Math.round((increase(prev.processCpuSeconds, cur.processCpuSeconds) / window) * 100) / 100
        : null;
    return {
      notes,
      facts: {
        executionsByStatus: cur.executionsByStatus,
        executionsInWindow: inWindow,
        duration: percentiles(prev?.buckets, cur.buckets),
        durationByLanguage: Object.fromEntries(
          Object.entries(cur.bucketsByLanguage).map(([l, b]) => [
            l,
            // A language first seen in this window had nothing before it.
            percentiles(prev ? (prev.bucketsByLanguage[l] ?? []) : undefined, b),
          ]),
        ),
        workersActive: cur.workersActive,
        poolSize: cur.poolSize,
        inProgress: cur.inProgress,
        sandboxFailures: cur.sandboxFailures,
        sandbox: cur.sandbox,
        sandboxFailuresInWindow:
          prev && cur.sandboxFailures !== null
            ? increase(prev.sandboxFailures ?? undefined, cur.sandboxFailures)
            : null,
        processCpuCores: cpu,
        residentMemoryBytes: cur.residentMemoryBytes,
        deadLettered: cur.deadLettered,
        deadLetteredInWindow: prev
          ? Object.fromEntries(
              Object.entries(cur.deadLettered).map(([k, v]) => [k, increase(prev.deadLettered?.[k], v)]),
            )
          : null,
      },
    };
  }

  async close(): Promise<void> {}
}

export interface ApiSample {
  at: number;
  facts: Omit<ApiFacts, 'requests'>;
  /** The API's /metrics: requests by code and latency buckets of the submit and get routes. */
  metrics: { byCode: Record<string, number>; buckets: HistogramBucket[] } | null;
}

/** The API answers its health check after its own backend checks, which give up after 2 s each. */
export const API_INTERNAL_CHECK_MS = 2000;
/**
 * Routes that are not request/response traffic: diagnose's own probes, Prometheus scrapes, and
 * WebSocket streams (their "duration" is how long a client watched a job).
 */
const PROBE_ROUTES = new Set(['health', 'metrics', 'stream']);

/** The API's /metrics text → requests by status code and latency buckets of the user routes. */
export function apiMetricsFromText(text: string): ApiSample['metrics'] {
  const m = parseMetrics(text);
  const byCode: Record<string, number> = {};
  const routes = new Set<string>();
  for (const x of select(m, 'sentinel_api_requests_total')) {
    const route = x.labels.route ?? '';
    if (PROBE_ROUTES.has(route)) continue;
    routes.add(route);
    const code = x.labels.code ?? '?';
    byCode[code] = (byCode[code] ?? 0) + x.value;
  }
  const byLe = new Map<number, number>();
  for (const route of routes) {
    for (const b of histogramBuckets(m, 'sentinel_api_request_duration_seconds', { route })) {
      byLe.set(b.leMs, (byLe.get(b.leMs) ?? 0) + b.count);
    }
  }
  const buckets = [...byLe].map(([leMs, count]) => ({ leMs, count })).sort((a, b) => a.leMs - b.leMs);
  return { byCode, buckets };
}

export class ApiCollector implements Collector<ApiSample, ApiFacts> {
  readonly component = 'api' as const;
  readonly target: string;

  constructor(
    private readonly baseUrl: string,
    /** The transport: plain fetch, or the API server's service proxy (src/k8s/client.ts). */
    private readonly fetch: typeof globalThis.fetch = globalThis.fetch,
  ) {
    this.target = maskUrl(`${baseUrl.replace(/\/+$/, '')}/api/v1/health`);
  }

  async sample(timeoutMs: number): Promise<ApiSample> {
    // Outlast the API's own backend checks: a Redis that does not answer makes the health check
    // take those 2 s, and a shorter timeout here would call the API unreachable instead of
    // reading the 503 that names Redis (deployment guide "Troubleshooting > API Returns 503").
    const budget = timeoutMs + API_INTERNAL_CHECK_MS + 500;
    const base = this.baseUrl.replace(/\/+$/, '');
    const metrics = (async () => {
      try {
        const res = await this.fetch(`${base}/metrics`, { signal: AbortSignal.timeout(budget) });
        return res.ok ? apiMetricsFromText(await res.text()) : null;
      } catch {
        return null;
      }
    })();
    const work = (async () => {
      const t0 = performance.now();
      const res = await this.fetch(`${base}/api/v1/health`, {
        signal: AbortSignal.timeout(budget),
      });
      const text = await res.text();
      const latencyMs = Math.round((performance.now() - t0) * 10) / 10;
      let body: { status?: unknown; services?: unknown } = {};
      try {
        body = JSON.parse(text);
      } catch {
        // A 502 from a proxy is HTML: the status code is the fact then.
      }
      const services: Record<string, string> = {};
      if (body.services && typeof body.services === 'object') {
        for (const [k, v] of Object.entries(body.services)) services[k] = String(v);
      }
      return {
        at: Date.now(),
        facts: {
          status: typeof body.status === 'string' ? body.status : `HTTP ${res.status}`,
          httpStatus: res.status,
          services,
          latencyMs,
        },
        metrics: await metrics,
      };
    })();
    return withTimeout(work, budget);
  }

  derive(prev: ApiSample | undefined, cur: ApiSample): { facts: ApiFacts; notes: string[] } {
    let requests: ApiFacts['requests'] = null;
    const window = windowOf(prev, cur);
    if (prev?.metrics && cur.metrics && window > 0) {
      const byCode: Record<string, number> = {};
      let total = 0;
      for (const [code, v] of Object.entries(cur.metrics.byCode)) {
        const d = increase(prev.metrics.byCode[code], v);
        if (d > 0) byCode[code] = d;
        total += d;
      }
      const inc = bucketIncrease(prev.metrics.buckets, cur.metrics.buckets);
      const observed = inc[inc.length - 1]?.count ?? 0;
      const q = (x: number) =>
        observed > 0 && inc[inc.length - 1]!.leMs === Number.POSITIVE_INFINITY
          ? r1(histogramQuantile(x, inc))
          : null;
      requests = { total, byCode, p95Ms: q(0.95), p99Ms: q(0.99), seconds: Math.round(window * 10) / 10 };
    }
    return { facts: { ...cur.facts, requests }, notes: cur.metrics ? [] : ['no /metrics on the API'] };
  }

  async close(): Promise<void> {}
}
