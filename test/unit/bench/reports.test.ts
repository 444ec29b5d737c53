import { beforeAll, describe, expect, test } from 'vitest';
import {
  checkComparable,
  compareReports,
  ratesSignificant,
  renderCompare,
} from '../../../src/bench/compare.js';
import { createHistogram } from '../../../src/bench/histogram.js';
import { MetricStore } from '../../../src/bench/metrics.js';
import { renderCsv } from '../../../src/bench/report/csv.js';
import { renderHtml } from '../../../src/bench/report/html.js';
import { renderJunit } from '../../../src/bench/report/junit.js';
import { type BenchReport, buildReport, mergeReports, toResult } from '../../../src/bench/report/model.js';
import { renderSummary } from '../../../src/bench/report/summary.js';
import type { BenchPlan } from '../../../src/bench/run.js';
import { urlScenario } from '../../../src/bench/scenario.js';
import { evaluateThresholds, parseThreshold } from '../../../src/bench/thresholds.js';
import { renderTable } from '../../../src/lib/table.js';
import { setWide } from '../../../src/lib/terminal.js';

// The layout under test, whole: fitting to the terminal is tested in test/unit/lib/table.test.ts.
beforeAll(() => setWide(true));

/** A 10 s run: 100 requests per second at `ms` latency, one failure every `failEvery`. */
function report(ms: number, failEvery: number): BenchReport {
  const store = new MetricStore();
  for (let s = 0; s < 10; s++) {
    for (let i = 0; i < 100; i++) {
      const n = s * 100 + i;
      store.recordRequest(
        'GET /',
        'GET',
        ms + (i % 10) / 10,
        11,
        n % failEvery === 0 ? 'status' : undefined,
        s,
      );
    }
  }
  const plan: BenchPlan = {
    scenario: urlScenario('http://127.0.0.1:9/', { method: 'GET', headers: {}, expect: [] }),
    load: {
      model: 'closed',
      startLevel: 10,
      stages: [{ durationMs: 10_000, target: 10 }],
      warmupMs: 0,
      preAllocatedVUs: 10,
      maxVUs: 10,
      gracefulStopMs: 1000,
      connections: 10,
      timeoutMs: 1000,
      workers: 1,
      prime: true,
    },
    thresholds: [
      parseThreshold({ key: 'http_req_duration', expression: 'p(95)<10', source: '--threshold #1' }),
      parseThreshold({ key: 'http_req_failed', expression: 'rate<0.01', source: '--threshold #2' }),
    ],
  };
  const gauges = { vus: 0, vus_max: 10 };
  return buildReport(plan, {
    startedAt: new Date('2026-01-02T03:04:05.000Z'),
    measuredStart: Date.parse('2026-01-02T03:04:05.000Z'),
    measuredMs: 10_000,
    stopReason: 'duration',
    main: store,
    warmup: new MetricStore(),
    gauges,
    self: {
      eventLoopUtilization: 0.5,
      eventLoopLag: createHistogram(),
      schedulingDelay: createHistogram(),
      primed: 0,
    },
    thresholds: evaluateThresholds(plan.thresholds, { store, durationMs: 10_000, gauges }),
    warnings: [],
  });
}

describe('reports', () => {
  const fast = report(2, 1000);
  const slow = report(20, 50);

  test('summary lists names, percentiles and the threshold table', () => {
    const text = renderSummary(toResult(slow));
    expect(text).toContain('closed model, 10 VUs; measured 10s');
    expect(text).toMatch(/GET \/\s+1000\s+100\s+20 \(2\.00%\)/);
    expect(text).toContain('http_req_duration: p(95)<10  20.91ms   FAIL    --threshold #1');
    expect(text).toContain('http_req_failed: rate<0.01   2%        FAIL    --threshold #2');
    expect(text).toContain('2 of 2 thresholds FAILED');
  });

  test('JUnit: one test case per threshold, failures carry the observed value', () => {
    const xml = renderJunit(toResult(slow));
    expect(xml).toContain(
      '<testsuites name="sentinel-ctl bench" tests="2" failures="2" errors="0" time="10.000">',
    );
    expect(xml).toContain('name="http_req_duration: p(95)&lt;10"');
    expect(xml).toContain('<failure type="threshold" message="observed 2%, wanted rate&lt;0.01">');
    expect(renderJunit(toResult(fast))).toContain('failures="0"');
  });

  test('CSV has Locust columns and an Aggregated row', () => {
    const [head, row, agg] = renderCsv(slow).trim().split('\n');
    expect(head!.split(',').slice(0, 6)).toEqual([
      'Type',
      'Name',
      'Request Count',
      'Failure Count',
      'Median Response Time',
      'Average Response Time',
    ]);
    expect(row!.split(',').slice(0, 4)).toEqual(['GET', 'GET /', '1000', '20']);
    expect(agg!.split(',').slice(0, 4)).toEqual(['', 'Aggregated', '1000', '20']);
    expect(agg!.split(',')[9]).toBe('100');
  });

  test('HTML is self-contained: three SVG charts, the threshold table, no scripts or remote URLs', () => {
    const html = renderHtml(toResult(slow));
    expect(html.match(/<svg /g)).toHaveLength(3);
    for (const id of ['chart-latency', 'chart-throughput', 'chart-errors', 'thresholds', 'requests']) {
      expect(html).toContain(`id="${id}"`);
    }
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!127\.0\.0\.1|www\.w3\.org\/2000\/svg)/);
    expect(html).toContain('<span class="badge fail">FAILED</span>');
    // Ten seconds of p99 points in the latency chart.
    expect(html).toMatch(/<path d="M[^"]*(L[^"]*){9}" fill="none" stroke="#d62728"/);
  });

  test('compare flags regressions beyond the tolerance and newly failing thresholds', () => {
    const same = compareReports(fast, fast, { tolerancePct: 10, errorTolerance: 0.001 });
    expect(same.regressions).toBe(0);
    const worse = compareReports(fast, slow, { tolerancePct: 10, errorTolerance: 0.001 });
    const flagged = worse.rows.filter((r) => r.regression).map((r) => `${r.name} ${r.figure}`);
    // Single-URL mode: the overall row repeats GET /'s numbers and is not counted twice.
    expect(flagged).toEqual(['GET / failure rate', 'GET / p50', 'GET / p95', 'GET / p99']);
    expect(worse.rows.some((r) => r.name === 'all requests')).toBe(false);
    expect(worse.newlyFailing).toEqual([
      'http_req_duration: p(95)<10 (now 20.91ms)',
      'http_req_failed: rate<0.01 (now 2%)',
    ]);
    expect(worse.regressions).toBe(6);
    const p95 = worse.rows.find((r) => r.name === 'GET /' && r.figure === 'p95')!;
    expect(p95).toMatchObject({ old: 2.901, new: 20.911, deltaPct: 620.82 });
    // Getting faster is never a regression.
    expect(compareReports(slow, fast, { tolerancePct: 10, errorTolerance: 0.001 }).regressions).toBe(0);
    const text = renderCompare(
      {
        ...worse,
        old: { files: ['a.json'], startedAt: 'x', measuredMs: 1 },
        new: { files: ['b.json'], startedAt: 'y', measuredMs: 1 },
      },
      renderTable,
    );
    expect(text).toMatch(/GET \/\s+p95\s+2\.90ms\s+20\.91ms\s+\+620\.82%\s+yes\s+REGRESSION/);
    expect(text).toMatch(/NAME\s+FIGURE\s+OLD\s+NEW\s+CHANGE\s+SIGNIFICANT\s+VERDICT/);
  });

  test('compare: a change the sample sizes cannot support is not a regression', () => {
    // 1 failure in 1000 vs 3 in 1000: +0.2 points, beyond a 0.001 tolerance, but chance (z ≈ 1.0).
    const a = report(2, 1000);
    const b = report(2, 334);
    const rate = compareReports(a, b, { tolerancePct: 10, errorTolerance: 0.001 }).rows.find(
      (r) => r.figure === 'failure rate',
    )!;
    expect(rate).toMatchObject({ old: 0.001, new: 0.003, significant: false, regression: false });
    expect(ratesSignificant(1, 1000, 30, 1000)).toBe(true);
  });

  test('compare refuses runs of different targets', () => {
    const other = { ...fast, scenario: { ...fast.scenario, baseUrl: 'http://127.0.0.1:10/' } };
    expect(() => checkComparable(fast, other)).toThrow(/different tests/);
    expect(() => checkComparable(fast, { ...fast, load: { ...fast.load, model: 'open' } })).toThrow(
      /different load models/,
    );
  });

  test('merging shards doubles counts and keeps latency', () => {
    const merged = mergeReports([fast, JSON.parse(JSON.stringify(fast))]);
    const all = merged.requests.at(-1)!;
    expect(all.requests).toBe(2000);
    expect(all.rps).toBe(200);
    expect(all.latency).toEqual({ ...fast.requests.at(-1)!.latency, count: 2000 });
    expect(merged.thresholds.map((t) => t.pass)).toEqual([true, true]);
  });
});
