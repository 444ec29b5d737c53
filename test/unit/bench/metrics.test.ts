import { describe, expect, test } from 'vitest';
import {
  MetricStore,
  noFailures,
  OVERALL,
  seriesPoints,
  summarizeRequests,
} from '../../../src/bench/metrics.js';

function sample(offset: number): MetricStore {
  const s = new MetricStore();
  for (let i = 1; i <= 1000; i++)
    s.recordRequest(
      'get',
      'GET',
      i / 10 + offset,
      100,
      i % 100 === 0 ? 'status' : undefined,
      Math.floor(i / 250),
    );
  s.recordRequest('post', 'POST', 5, 20, 'refused', 0);
  s.addTrend('e2e_duration', 'python-print', 1234);
  s.addCount('poll_timeouts', 'cpp-loop', 2);
  s.addRate('checks', 'python-print', true);
  s.addCount('dropped_iterations', OVERALL);
  s.bucket(1).dropped += 1;
  return s;
}

describe('metric store', () => {
  test('records per name and overall, with failures by cause', () => {
    const rows = summarizeRequests(sample(0), 4000);
    expect(rows.map((r) => [r.name, r.requests, r.failed, r.failures, r.rps, r.bytes])).toEqual([
      ['get', 1000, 10, { ...noFailures(), status: 10 }, 250, 100_000],
      ['post', 1, 1, { ...noFailures(), refused: 1 }, 0.25, 20],
      [OVERALL, 1001, 11, { ...noFailures(), status: 10, refused: 1 }, 250.25, 100_020],
    ]);
    expect(rows[0]!.latency).toMatchObject({ count: 1000, min: 0.1, med: 50.015, p99: 99.007, max: 100.031 });
  });

  test('a value recorded overall counts once', () => {
    const s = sample(0);
    expect(s.counter('dropped_iterations')).toBe(1);
    expect(s.counter('poll_timeouts')).toBe(2);
    expect(s.counter('poll_timeouts', 'cpp-loop')).toBe(2);
  });

  test('JSON round trip keeps every figure', () => {
    const s = sample(0);
    const back = MetricStore.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(summarizeRequests(back, 4000)).toEqual(summarizeRequests(s, 4000));
    expect(seriesPoints(back)).toEqual(seriesPoints(s));
    expect(back.trend('e2e_duration', 'python-print')!.totalCount).toBe(1);
    expect(back.rate('checks')).toEqual({ hits: 1, total: 1 });
  });

  test('merging two shards adds counts and histograms', () => {
    const a = sample(0);
    const merged = new MetricStore();
    merged.merge(a);
    merged.merge(MetricStore.fromJSON(sample(100).toJSON()));
    const all = merged.requests.get(OVERALL)!;
    expect(all.count).toBe(2002);
    expect(all.failed).toBe(22);
    expect(all.duration.totalCount).toBe(2002);
    // Half the values are 0.1–100 ms, half 100.1–200 ms: the median sits at the boundary.
    expect(Math.abs(all.duration.getValueAtPercentile(50) / 1000 - 100)).toBeLessThan(0.1); // HDR: 3 digits
    expect(merged.counter('poll_timeouts')).toBe(4);
    expect(seriesPoints(merged).map((p) => [p.second, p.requests, p.failures, p.dropped])).toEqual([
      // Per shard: second 0 holds i = 1..249 plus the POST (failures at 100, 200 and the POST),
      // second 1 holds 250..499 (300, 400), second 2 500..749 (500, 600, 700), second 4 only 1000.
      [0, 500, 6, 0],
      [1, 500, 4, 2],
      [2, 500, 6, 0],
      [3, 500, 4, 0],
      [4, 2, 2, 0],
    ]);
  });
});
