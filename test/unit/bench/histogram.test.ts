import * as hdr from 'hdr-histogram-js';
import { describe, expect, test } from 'vitest';
import {
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  type Histogram,
  meanOf,
  recordMs,
  summarizeHistogram,
} from '../../../src/bench/histogram.js';

/** The library's own histogram with the settings createHistogram uses. */
const library = (precision: 2 | 3) =>
  hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 1_000_000,
    numberOfSignificantValueDigits: precision,
    useWebAssembly: false,
  });

const index = (h: Histogram, v: number) => (h as unknown as hdr.JsHistogram).countsArrayIndex(v);

/** Every value below 2^17, each power of two and its neighbours up to 2^34, and pseudo-random ones. */
function values(): number[] {
  const vs: number[] = [];
  for (let v = 0; v < 1 << 17; v++) vs.push(v);
  for (let k = 17; k <= 34; k++) vs.push(2 ** k - 1, 2 ** k, 2 ** k + 1);
  let x = 12345;
  for (let i = 0; i < 20_000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    vs.push(x % 2 ** (1 + (i % 33)));
  }
  return vs;
}

describe('latency histogram (integer counts index)', () => {
  for (const precision of [2, 3] as const) {
    test(`maps every value to the library's counts index (precision ${precision})`, () => {
      // Large enough that no value below triggers a resize on either side.
      const ours = createHistogram(precision);
      const theirs = library(precision);
      ours.recordValue(2 ** 35);
      theirs.recordValue(2 ** 35);
      const differing = values().filter((v) => index(ours, v) !== index(theirs, v));
      expect(differing).toEqual([]);
    });

    test(`records, resizes and encodes exactly as the library does (precision ${precision})`, () => {
      const ours = createHistogram(precision);
      const theirs = library(precision);
      for (const v of values()) {
        ours.recordValue(v);
        theirs.recordValue(v);
      }
      expect(ours.totalCount).toBe(theirs.totalCount);
      expect(ours.maxValue).toBe(theirs.maxValue);
      for (const p of [0, 1, 50, 90, 99, 99.9, 99.99, 100])
        expect(ours.getValueAtPercentile(p)).toBe(theirs.getValueAtPercentile(p));
      expect(encodeHistogram(ours)).toBe(encodeHistogram(theirs));
    });
  }

  test('milliseconds go in as microseconds and survive a round trip through the report encoding', () => {
    const h = createHistogram();
    for (const ms of [0, 0.0004, 0.25, 1.5, 12.345, 999.9, 2_500]) recordMs(h, ms);
    const back = decodeHistogram(encodeHistogram(h));
    expect(summarizeHistogram(back)).toEqual(summarizeHistogram(h));
    const s = summarizeHistogram(h);
    expect(s).toMatchObject({ count: 7, min: 0.001, med: 1.5 });
    // Three significant digits: the largest value reads back within 0.1 %.
    expect(s.max).toBeGreaterThanOrEqual(2_500);
    expect(s.max).toBeLessThan(2_500 * 1.001);
  });

  test('the mean read from the counts equals the library mean (live, resized and decoded histograms)', () => {
    let x = 7;
    const next = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x / 2 ** 31;
    };
    for (const [n, spread] of [
      [1, 1],
      [1_000, 5],
      [50_000, 2_000],
      [20_000, 5_000_000],
    ] as const) {
      const h = createHistogram();
      for (let i = 0; i < n; i++) recordMs(h, next() * next() * spread);
      expect(meanOf(h)).toBe(h.mean);
      const back = decodeHistogram(encodeHistogram(h));
      expect(meanOf(back)).toBe(back.mean);
    }
    expect(meanOf(createHistogram())).toBe(0);
  });
});
