import { describe, expect, test } from 'vitest';
import { UserError } from '../../../src/lib/errors.js';
import type { ExecutionStats } from '../../../src/tuners/facts.js';
import {
  type HistogramBucket,
  histogramQuantile,
  prefetchFitsConsumerTimeout,
  rabbitDiskFreeLimit,
  rabbitMemoryWatermark,
  rabbitPrefetch,
  summarizeExecutionTimes,
} from '../../../src/tuners/rabbitmq.js';

const inf = Number.POSITIVE_INFINITY;
/** A Sentinel-like worker: Python prints in ~100 ms, C++ compiles take seconds. */
const mixed: HistogramBucket[] = [
  { leMs: 50, count: 0 },
  { leMs: 100, count: 400 },
  { leMs: 250, count: 600 },
  { leMs: 1000, count: 700 },
  { leMs: 5000, count: 950 },
  { leMs: 10_000, count: 1000 },
  { leMs: inf, count: 1000 },
];

describe('histogramQuantile (Prometheus histogram_quantile semantics)', () => {
  test.each<[number, HistogramBucket[], number | undefined]>([
    [0.5, mixed, 175],
    [0.99, mixed, 9000],
    [0.4, mixed, 100],
    [0.95, mixed, 5000],
    [0, mixed, 50],
    [1, mixed, 10_000],
    // Everything in the first bucket: interpolated from 0.
    [
      0.5,
      [
        { leMs: 100, count: 10 },
        { leMs: inf, count: 10 },
      ],
      50,
    ],
    // A quantile in the +Inf bucket returns the largest finite bound.
    [
      0.99,
      [
        { leMs: 100, count: 10 },
        { leMs: inf, count: 20 },
      ],
      100,
    ],
    // Unsorted input is sorted first.
    [
      0.5,
      [
        { leMs: inf, count: 4 },
        { leMs: 200, count: 4 },
        { leMs: 100, count: 2 },
      ],
      100,
    ],
    // Empty histogram.
    [
      0.5,
      [
        { leMs: 100, count: 0 },
        { leMs: inf, count: 0 },
      ],
      undefined,
    ],
    // Only +Inf.
    [0.5, [{ leMs: inf, count: 5 }], undefined],
  ])('q=%d → %j', (q, buckets, expected) => {
    expect(histogramQuantile(q, buckets)).toBe(expected);
  });

  test.each<[number, HistogramBucket[]]>([
    [0.5, [{ leMs: 100, count: 10 }]],
    [
      0.5,
      [
        { leMs: 100, count: 10 },
        { leMs: 200, count: 5 },
        { leMs: inf, count: 10 },
      ],
    ],
    [1.5, mixed],
    [-0.1, mixed],
  ])('q=%d over a bad histogram is rejected', (q, buckets) => {
    expect(() => histogramQuantile(q, buckets)).toThrow(UserError);
  });

  test('summarizeExecutionTimes from buckets and from percentiles', () => {
    expect(summarizeExecutionTimes({ kind: 'histogram', buckets: mixed })).toEqual({
      p50Ms: 175,
      p99Ms: 9000,
      count: 1000,
    });
    expect(summarizeExecutionTimes({ kind: 'percentiles', p50Ms: 40, p99Ms: 60 })).toEqual({
      p50Ms: 40,
      p99Ms: 60,
    });
    expect(summarizeExecutionTimes({ kind: 'percentiles', p50Ms: 40, p99Ms: 60, count: 7 })).toEqual({
      p50Ms: 40,
      p99Ms: 60,
      count: 7,
    });
    expect(
      summarizeExecutionTimes({
        kind: 'histogram',
        buckets: [
          { leMs: 1, count: 0 },
          { leMs: inf, count: 0 },
        ],
      }),
    ).toBeUndefined();
  });
});

describe('rabbitPrefetch (sentinel-tuning-guide.md "RabbitMQ > Prefetch Count")', () => {
  test.each<[string, ExecutionStats | undefined, number | undefined, number, string, string[]]>([
    [
      'no data: the Sentinel default',
      undefined,
      undefined,
      1,
      'no execution times known: 1, the Sentinel default (execution times vary widely)',
      [],
    ],
    [
      "Sentinel's mix: 100 ms Python vs 10 s C++",
      { p50Ms: 175, p99Ms: 9000, count: 1000 },
      undefined,
      1,
      'p50 175 ms, p99 9000 ms (p99/p50 51.429): execution times vary (p99 > 2 × p50) → 1',
      [],
    ],
    [
      'very fast: p99 under 100 ms',
      { p50Ms: 20, p99Ms: 80, count: 5000 },
      undefined,
      10,
      'p50 20 ms, p99 80 ms (p99/p50 4): p99 < 100 ms, very fast executions → 10',
      [],
    ],
    [
      'boundary: p99 exactly 100 ms is not under 100 ms',
      { p50Ms: 60, p99Ms: 100, count: 5000 },
      undefined,
      5,
      'p50 60 ms, p99 100 ms (p99/p50 1.667): uniform (p99 ≤ 2 × p50) and fast (p99 < 1 s) → 5',
      [],
    ],
    [
      'uniform and fast',
      { p50Ms: 300, p99Ms: 500, count: 5000 },
      undefined,
      5,
      'p50 300 ms, p99 500 ms (p99/p50 1.667): uniform (p99 ≤ 2 × p50) and fast (p99 < 1 s) → 5',
      [],
    ],
    [
      'boundary: p99 exactly 2 × p50 is uniform',
      { p50Ms: 400, p99Ms: 800, count: 5000 },
      undefined,
      5,
      'p50 400 ms, p99 800 ms (p99/p50 2): uniform (p99 ≤ 2 × p50) and fast (p99 < 1 s) → 5',
      [],
    ],
    [
      'just over 2 × p50 varies',
      { p50Ms: 400, p99Ms: 801, count: 5000 },
      undefined,
      1,
      'p50 400 ms, p99 801 ms (p99/p50 2.002): execution times vary (p99 > 2 × p50) → 1',
      [],
    ],
    [
      'boundary: uniform at exactly 1 s is not fast',
      { p50Ms: 800, p99Ms: 1000, count: 5000 },
      undefined,
      1,
      'p50 800 ms, p99 1000 ms (p99/p50 1.25): uniform but not fast (p99 ≥ 1 s) → 1',
      [],
    ],
    [
      'a short consumer_timeout clamps prefetch',
      { p50Ms: 60, p99Ms: 90, count: 5000 },
      500,
      5,
      'p50 60 ms, p99 90 ms (p99/p50 1.5): p99 < 100 ms, very fast executions → 10; clamped to 5 so that prefetch × p99 < consumer_timeout 500ms',
      [],
    ],
    [
      'exact multiple: 10 × 50 = 500 is not below 500',
      { p50Ms: 40, p99Ms: 50, count: 5000 },
      500,
      9,
      'p50 40 ms, p99 50 ms (p99/p50 1.25): p99 < 100 ms, very fast executions → 10; clamped to 9 so that prefetch × p99 < consumer_timeout 500ms',
      [],
    ],
    [
      'one execution longer than consumer_timeout',
      { p50Ms: 1000, p99Ms: 2_000_000, count: 5000 },
      undefined,
      1,
      'p50 1000 ms, p99 2000000 ms (p99/p50 2000): execution times vary (p99 > 2 × p50) → 1',
      ['p99-exceeds-consumer-timeout'],
    ],
    [
      'a small sample is noted',
      { p50Ms: 20, p99Ms: 80, count: 12 },
      undefined,
      10,
      'p50 20 ms, p99 80 ms (p99/p50 4): p99 < 100 ms, very fast executions → 10',
      ['execution-sample-small'],
    ],
    [
      'p50 of zero',
      { p50Ms: 0, p99Ms: 3000 },
      undefined,
      1,
      'p50 0 ms, p99 3000 ms (p99/p50 ∞): execution times vary (p99 > 2 × p50) → 1',
      [],
    ],
  ])('%s', (_name, times, consumerTimeoutMs, value, reason, codes) => {
    const rec = rabbitPrefetch({ times, consumerTimeoutMs });
    expect(rec.value).toBe(value);
    expect(rec.reason).toBe(reason);
    expect((rec.warnings ?? []).map((w) => w.code)).toEqual(codes);
    expect(rec.source.section).toBe('RabbitMQ > Prefetch Count');
  });

  test.each<[ExecutionStats | undefined, string]>([
    [undefined, 'guide-default'],
    [{ p50Ms: 20, p99Ms: 80 }, 'guide-formula'],
    [{ p50Ms: 175, p99Ms: 9000 }, 'guide-formula'],
    [{ p50Ms: 300, p99Ms: 500 }, 'tool-heuristic'],
    [{ p50Ms: 800, p99Ms: 1000 }, 'tool-heuristic'],
  ])('%j is labelled %s', (times, basis) => {
    expect(rabbitPrefetch({ times }).basis).toBe(basis);
  });

  test.each<[number, number, number, boolean]>([
    [1, 10_000, 1_800_000, true],
    [10, 100_000, 1_800_000, true],
    [18, 100_000, 1_800_000, false],
    [17, 100_000, 1_800_000, true],
    [1, 1_800_000, 1_800_000, false],
    [5, 359_999, 1_800_000, true],
  ])('prefetch %i × p99 %i ms < consumer_timeout %i: %s', (prefetch, p99, timeout, fits) => {
    expect(prefetchFitsConsumerTimeout(prefetch, p99, timeout)).toBe(fits);
  });
});

describe('memory watermark and disk limit (sentinel-tuning-guide.md "RabbitMQ > Memory & Disk")', () => {
  test.each<[number | undefined, string[]]>([
    [undefined, []],
    [0.4, []],
    [0.6, []],
    [0.8, ['rabbit-watermark-high']],
  ])('watermark with current %j', (current, codes) => {
    const rec = rabbitMemoryWatermark(current);
    expect(rec.value).toBe(0.6);
    expect((rec.warnings ?? []).map((w) => w.code)).toEqual(codes);
  });

  test('disk_free_limit is 1GB = 10^9 bytes in RabbitMQ units', () => {
    const rec = rabbitDiskFreeLimit();
    expect(rec.value).toBe(1_000_000_000);
    expect(rec.reason).toBe("disk_free_limit.absolute = 1GB (guide default; RabbitMQ's default is 50MB)");
  });
});
