import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

/**
 * HdrHistogram's Int32Histogram with the value → counts-index mapping in integer arithmetic.
 * The library computes it with `Math.log2` and `Math.pow` on every record — the most expensive
 * step of the generator's hot path (four records per request). For the values a latency
 * histogram sees (integers below 2^31, unit magnitude 0: lowestDiscernibleValue 1) the same index
 * comes from the position of the highest set bit; everything else goes the library's way. The
 * counts layout is the library's own, so encoding, merging and percentiles are unchanged
 * (test/unit/bench/histogram.test.ts compares both mappings value by value).
 */
class LatencyHistogram extends hdr.Int32Histogram {
  override countsArrayIndex(value: number): number {
    if (value >= 0 && value < 0x8000_0000 && this.unitMagnitude === 0) {
      const magnitude = this.subBucketHalfCountMagnitude;
      // floor(log2(value)) - magnitude, at least 0 (values below the first bucket's top half).
      const bucket = Math.max(31 - Math.clz32(value) - magnitude, 0);
      return ((bucket + 1) << magnitude) + (value >>> bucket) - this.subBucketHalfCount;
    }
    return super.countsArrayIndex(value);
  }
}

/**
 * Latency histograms (HdrHistogram): values are recorded in microseconds so sub-millisecond
 * loopback latencies keep three significant digits; reports convert to milliseconds.
 * `precision` 2 is used for the per-second series, where 1 % resolution is plenty and the
 * histogram is 8× smaller.
 */
export function createHistogram(precision: 2 | 3 = 3): Histogram {
  const h = new LatencyHistogram(1, 1_000_000, precision);
  h.autoResize = true;
  return h;
}

/** Records a duration given in milliseconds. */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(ms <= 0.001 ? 1 : Math.round(ms * 1000));
}

/** Compressed base64 (the HdrHistogram interchange format), so any HdrHistogram tool can read it. */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(text: string): Histogram {
  const h = hdr.decodeFromCompressedBase64(text, 32, false);
  h.autoResize = true;
  return h;
}

/** The latency figures every report shows, in milliseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  avg: number;
  med: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * The mean as HdrHistogram defines it (each count at its bucket's median equivalent value), from
 * the counts array directly: the library's `mean` walks every bucket through an iterator, a few
 * milliseconds per histogram and report.
 */
export function meanOf(h: Histogram): number {
  if (h.totalCount === 0) return 0;
  const j = h as unknown as hdr.JsHistogram;
  let total = 0;
  for (let i = 0; i < j.countsArrayLength; i++) {
    const c = j.getCountAtIndex(i);
    if (c !== 0) total += j.medianEquivalentValue(j.valueFromIndex(i)) * c;
  }
  return total / h.totalCount;
}

/** Value at percentile `p` (0–100) in milliseconds; NaN when the histogram is empty. */
export function percentileMs(h: Histogram, p: number): number {
  if (h.totalCount === 0) return Number.NaN;
  return round3(h.getValueAtPercentile(p) / 1000);
}

export function summarizeHistogram(h: Histogram): LatencySummary {
  if (h.totalCount === 0) {
    return { count: 0, min: NaN, avg: NaN, med: NaN, p90: NaN, p95: NaN, p99: NaN, p999: NaN, max: NaN };
  }
  return {
    count: h.totalCount,
    // Percentiles 0 and 100 rather than min/maxValue: they are the same before and after
    // encoding, so a report read back from JSON shows exactly the figures of the live run.
    min: round3(h.getValueAtPercentile(0) / 1000),
    avg: round3(meanOf(h) / 1000),
    med: percentileMs(h, 50),
    p90: percentileMs(h, 90),
    p95: percentileMs(h, 95),
    p99: percentileMs(h, 99),
    p999: percentileMs(h, 99.9),
    max: round3(h.getValueAtPercentile(100) / 1000),
  };
}
