/**
 * RabbitMQ: consumer prefetch from the execution-time distribution, the memory watermark and the
 * disk limit (sentinel-tuning-guide.md "RabbitMQ").
 */
import { UserError } from '../lib/errors.js';
import type { ExecutionStats } from './facts.js';
import { num, type Recommendation, recommend, sources, type TunerWarning } from './types.js';
import { formatByteSize, formatGoDuration } from './units.js';

/** One cumulative histogram bucket (Prometheus `_bucket{le=...}`), with `le` already in ms. */
export interface HistogramBucket {
  /** Upper bound in ms; `Infinity` for `+Inf`. */
  leMs: number;
  /** Observations ≤ leMs (cumulative). */
  count: number;
}

export type ExecutionTimes =
  | { kind: 'percentiles'; p50Ms: number; p99Ms: number; count?: number }
  | { kind: 'histogram'; buckets: HistogramBucket[] };

/**
 * The q-quantile of a cumulative histogram, interpolated linearly inside the bucket as Prometheus'
 * `histogram_quantile` does: the first bucket starts at 0, and a quantile in the `+Inf` bucket is
 * the largest finite bound. Returns undefined for an empty histogram.
 * @throws UserError when the counts decrease or no `+Inf` bucket holds the total.
 */
export function histogramQuantile(q: number, buckets: HistogramBucket[]): number | undefined {
  if (q < 0 || q > 1) throw new UserError(`quantile ${q} is outside 0..1.`);
  const sorted = [...buckets].sort((a, b) => a.leMs - b.leMs);
  const last = sorted[sorted.length - 1];
  if (!last || last.leMs !== Number.POSITIVE_INFINITY) {
    throw new UserError('the histogram has no +Inf bucket, so its total is unknown.');
  }
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.count < sorted[i - 1]!.count) {
      throw new UserError(
        `histogram bucket le=${sorted[i]!.leMs} has fewer observations than the bucket before it.`,
      );
    }
  }
  const total = last.count;
  if (total === 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank && b.count > 0) {
      if (b.leMs === Number.POSITIVE_INFINITY) {
        // Prometheus returns the upper bound of the last finite bucket.
        return sorted.length > 1 ? sorted[sorted.length - 2]!.leMs : undefined;
      }
      const inBucket = b.count - prevCount;
      if (inBucket === 0) return b.leMs;
      return prevLe + ((b.leMs - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.leMs;
    prevCount = b.count;
  }
  return undefined;
}

/** p50 / p99 / count from either form of input; undefined when there is no observation. */
export function summarizeExecutionTimes(times: ExecutionTimes): ExecutionStats | undefined {
  if (times.kind === 'percentiles') {
    const stats: ExecutionStats = { p50Ms: times.p50Ms, p99Ms: times.p99Ms };
    if (times.count !== undefined) stats.count = times.count;
    return stats;
  }
  const p50 = histogramQuantile(0.5, times.buckets);
  const p99 = histogramQuantile(0.99, times.buckets);
  if (p50 === undefined || p99 === undefined) return undefined;
  const total = times.buckets.reduce((m, b) => Math.max(m, b.count), 0);
  return { p50Ms: Number(p50.toFixed(3)), p99Ms: Number(p99.toFixed(3)), count: total };
}

/** "10+ only if executions are very fast (<100ms)" (RabbitMQ > Prefetch Count). */
export const VERY_FAST_MS = 100;
/** What "uniform fast executions" means here; the guide gives no number, so this is the tool's heuristic. */
export const FAST_MS = 1000;
/** "Uniform": p99 within 2 × p50 (the tool's heuristic). */
export const UNIFORM_P99_OVER_P50 = 2;
/** RabbitMQ's default consumer_timeout: 30 minutes. */
export const DEFAULT_CONSUMER_TIMEOUT_MS = 1_800_000;
/** Below this many observations the percentiles are noted as shaky. */
export const MIN_SAMPLE = 100;

/**
 * Whether `prefetch` messages of p99 duration, handled one after another by one consumer, are all
 * acknowledged before RabbitMQ's consumer_timeout closes the channel: the last prefetched message
 * waits for the ones before it, so its delivery-to-ack time is ≈ prefetch × p99.
 */
export function prefetchFitsConsumerTimeout(
  prefetch: number,
  p99Ms: number,
  consumerTimeoutMs: number,
): boolean {
  return prefetch * p99Ms < consumerTimeoutMs;
}

/**
 * Consumer prefetch from the execution-time distribution (sentinel-tuning-guide.md "RabbitMQ >
 * Prefetch Count"): 1 when times vary (Sentinel's default: 100 ms Python print vs 10 s C++ compile;
 * higher prefetch causes head-of-line blocking), 5 for uniform fast executions, 10 only when p99 is
 * under 100 ms. Then clamped so prefetch × p99 stays under consumer_timeout.
 */
export function rabbitPrefetch(input: {
  times?: ExecutionStats;
  consumerTimeoutMs?: number;
}): Recommendation<number> {
  const timeout = input.consumerTimeoutMs ?? DEFAULT_CONSUMER_TIMEOUT_MS;
  const t = input.times;
  const warnings: TunerWarning[] = [];
  if (!t) {
    return recommend(
      1,
      'no execution times known: 1, the Sentinel default (execution times vary widely)',
      sources.rabbitPrefetch,
      { basis: 'guide-default' },
    );
  }
  const ratio = t.p50Ms > 0 ? t.p99Ms / t.p50Ms : Number.POSITIVE_INFINITY;
  const uniform = ratio <= UNIFORM_P99_OVER_P50;
  const spread = `p50 ${num(t.p50Ms)} ms, p99 ${num(t.p99Ms)} ms (p99/p50 ${num(ratio)})`;
  let value: number;
  let reason: string;
  // The 100 ms line is the guide's; "uniform" and "fast" have no number there, so they are this
  // tool's heuristics and the recommendation says so.
  let basis: 'guide-formula' | 'tool-heuristic' = 'guide-formula';
  if (t.p99Ms < VERY_FAST_MS) {
    value = 10;
    reason = `${spread}: p99 < 100 ms, very fast executions → 10`;
  } else if (uniform && t.p99Ms < FAST_MS) {
    value = 5;
    basis = 'tool-heuristic';
    reason = `${spread}: uniform (p99 ≤ 2 × p50) and fast (p99 < 1 s) → 5`;
  } else {
    if (uniform) basis = 'tool-heuristic';
    value = 1;
    reason = uniform
      ? `${spread}: uniform but not fast (p99 ≥ 1 s) → 1`
      : `${spread}: execution times vary (p99 > 2 × p50) → 1`;
  }
  if (!prefetchFitsConsumerTimeout(value, t.p99Ms, timeout)) {
    const fit = Math.max(1, Math.ceil(timeout / t.p99Ms) - 1);
    if (fit < value) {
      reason += `; clamped to ${fit} so that prefetch × p99 < consumer_timeout ${formatGoDuration(timeout)}`;
      value = fit;
    }
    if (!prefetchFitsConsumerTimeout(value, t.p99Ms, timeout)) {
      warnings.push({
        code: 'p99-exceeds-consumer-timeout',
        message:
          `One execution's p99 (${num(t.p99Ms)} ms) is not below consumer_timeout (${timeout} ms): RabbitMQ will close the channel ` +
          'and redeliver; raise consumer_timeout.',
        source: sources.ownConsumerTimeout,
      });
    }
  }
  if (t.count !== undefined && t.count < MIN_SAMPLE) {
    warnings.push({
      code: 'execution-sample-small',
      message: `The percentiles rest on ${t.count} executions (fewer than ${MIN_SAMPLE}); run a bench first for a steadier answer.`,
      source: sources.rabbitPrefetch,
    });
  }
  return recommend(value, reason, sources.rabbitPrefetch, { basis, warnings });
}

/** `vm_memory_high_watermark.relative = 0.6` (RabbitMQ > Memory & Disk). */
export function rabbitMemoryWatermark(current?: number): Recommendation<number> {
  const warnings: TunerWarning[] = [];
  if (current !== undefined && current > 0.6) {
    warnings.push({
      code: 'rabbit-watermark-high',
      message: `vm_memory_high_watermark.relative ${current} leaves less room than the guide's 0.6 before the node runs out of memory.`,
      source: sources.rabbitMemoryDisk,
    });
  }
  return recommend(0.6, 'vm_memory_high_watermark.relative = 0.6 (guide default)', sources.rabbitMemoryDisk, {
    basis: 'guide-default',
    warnings,
  });
}

/** `disk_free_limit.absolute = 1GB` (RabbitMQ > Memory & Disk), in bytes: RabbitMQ's GB is 10^9. */
export function rabbitDiskFreeLimit(): Recommendation<number> {
  const bytes = 1e9;
  return recommend(
    bytes,
    `disk_free_limit.absolute = ${formatByteSize(bytes, 'rabbitmq')} (guide default; RabbitMQ's default is 50MB)`,
    sources.rabbitMemoryDisk,
    { basis: 'guide-default' },
  );
}
