import { describe, expect, test } from 'vitest';
import { parseShard, parseStartAt, runError } from '../../../src/bench/cli.js';
import type { EnginePlan } from '../../../src/bench/engine.js';
import { recordMs } from '../../../src/bench/histogram.js';
import { errorCause } from '../../../src/bench/http.js';
import { MetricStore } from '../../../src/bench/metrics.js';
import { historyFile, renderCsvHistory } from '../../../src/bench/report/csv.js';
import { type BenchReport, checkMergeable, coldStart } from '../../../src/bench/report/model.js';
import { splitPlan } from '../../../src/bench/run.js';
import { ArrivalSchedule } from '../../../src/bench/stages.js';
import { ExitCode } from '../../../src/lib/errors.js';

const plan: EnginePlan = {
  model: 'open',
  startLevel: 30,
  stages: [
    { durationMs: 1000, target: 30 },
    { durationMs: 1000, target: 90 },
  ],
  warmupMs: 0,
  preAllocatedVUs: 10,
  maxVUs: 100,
  gracefulStopMs: 1000,
  phase: 0,
};

const arrivals = (p: EnginePlan) => {
  const s = new ArrivalSchedule(p.stages, p.startLevel, p.phase);
  const out: number[] = [];
  for (let d = s.nextDue(); d !== undefined; d = s.nextDue()) out.push(d);
  return out;
};

describe('shards', () => {
  test('3 shards × 2 worker threads: the union of arrivals is the original schedule, interleaved', () => {
    const whole = arrivals(plan);
    const parts = splitPlan(plan, 3).flatMap((shard) => splitPlan(shard, 2));
    expect(parts.map((p) => p.startLevel)).toEqual(Array(6).fill(5));
    const union = parts.flatMap(arrivals).sort((a, b) => a - b);
    expect(union.length).toBe(whole.length);
    for (const [i, t] of union.entries()) expect(t).toBeCloseTo(whole[i]!, 6);
    // Interleaved: shard 1's first arrivals are the whole schedule's 1st, 4th, 7th, ...
    const shard1 = splitPlan(plan, 3)[0]!;
    expect(arrivals(shard1).slice(0, 3)).toEqual(
      [whole[0], whole[3], whole[6]].map((x) => expect.closeTo(x!, 6)),
    );
  });

  test('closed model: VUs and iterations split as integers that add up', () => {
    const closed = {
      ...plan,
      model: 'closed' as const,
      startLevel: 7,
      stages: [{ durationMs: 1000, target: 7 }],
      iterations: 10,
    };
    const parts = splitPlan(closed, 3);
    expect(parts.map((p) => [p.startLevel, p.iterations])).toEqual([
      [3, 4],
      [2, 3],
      [2, 3],
    ]);
  });

  test('--shard and --start-at are parsed strictly', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/2', '3/2', '1', 'a/b', '1/0']) expect(() => parseShard(bad)).toThrow(/is not i\/N/);
    expect(parseStartAt('2026-12-06T01:00:00Z')).toBe(Date.parse('2026-12-06T01:00:00Z'));
    expect(parseStartAt('1800000000000')).toBe(1_800_000_000_000);
    expect(parseStartAt('+10s', 1000)).toBe(11_000);
    expect(() => parseStartAt('soon')).toThrow(/is not a time/);
  });
});

function fakeReport(over: Partial<BenchReport>): BenchReport {
  return {
    format: 'sentinel-ctl-bench/2',
    scenario: { name: 'GET /', kind: 'http', baseUrl: 'http://127.0.0.1:1' },
    load: {
      model: 'open',
      startLevel: 10,
      stages: [{ durationMs: 1000, target: 10 }],
      warmupMs: 0,
      workers: 1,
      maxVUs: 10,
      connections: 10,
    },
    shard: { index: 1, count: 2 },
    ...over,
  } as BenchReport;
}

describe('merge refuses what is not one test', () => {
  test.each([
    [
      { scenario: { name: 'GET /', kind: 'http' as const, baseUrl: 'http://127.0.0.1:2' } },
      /scenario\/target differs/,
    ],
    [{ load: { ...fakeReport({}).load, model: 'closed' as const } }, /load model differs/],
    [{ load: { ...fakeReport({}).load, stages: [{ durationMs: 2000, target: 10 }] } }, /schedule .* differs/],
    [{ shard: { index: 2, count: 3 } }, /shard count differs/],
    [{ shard: { index: 1, count: 2 } }, /both shard 1\/2/],
    [{ shard: undefined }, /shard count differs|some are whole tests/],
  ])('%#', (other, message) => {
    expect(() => checkMergeable([fakeReport({}), fakeReport(other)], ['a.json', 'b.json'])).toThrow(message);
  });

  test('shards 1/2 and 2/2 of one test merge', () => {
    expect(() =>
      checkMergeable([fakeReport({}), fakeReport({ shard: { index: 2, count: 2 } })], ['a', 'b']),
    ).not.toThrow();
  });
});

describe('generator truthfulness', () => {
  test('transport errors by cause (k6 error codes)', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    expect(errorCause(err('ECONNREFUSED'))).toBe('refused');
    expect(errorCause(err('ECONNRESET'))).toBe('reset');
    expect(errorCause(err('UND_ERR_SOCKET'))).toBe('reset');
    expect(errorCause(err('UND_ERR_HEADERS_TIMEOUT'))).toBe('timeout');
    expect(errorCause(err('ENOTFOUND'))).toBe('dns');
    expect(errorCause(err('ERR_TLS_CERT_ALTNAME_INVALID'))).toBe('tls');
    expect(errorCause(new AggregateError([err('ECONNREFUSED')]))).toBe('refused');
    expect(errorCause(Object.assign(new Error('x'), { cause: err('EAI_AGAIN') }))).toBe('dns');
    expect(errorCause(new Error('odd'))).toBe('network');
  });

  test('cold start: how much of the tail came from the first second', () => {
    const store = new MetricStore();
    // Second 0: 100 requests, 10 of them at 80 ms; seconds 1–9: 100 requests at 2 ms each.
    for (let i = 0; i < 100; i++) store.recordRequest('GET /', 'GET', i < 10 ? 80 : 2, 0, undefined, 0);
    for (let s = 1; s < 10; s++)
      for (let i = 0; i < 100; i++) store.recordRequest('GET /', 'GET', 2, 0, undefined, s);
    const c = coldStart(store, 0)!;
    // Per-second histograms keep 2 significant digits (1 %).
    expect(c.firstSecond).toEqual({ requests: 100, p99: expect.closeTo(80, 0) });
    expect(c.restP99).toBeCloseTo(2, 1);
    // All 10 requests above the run's p99 completed in the first second.
    expect(c.tailShare).toBe(1);
    expect(coldStart(store, 2000)).toBeNull();
  });

  test('per-second CSV rows: VUs, requests, failures by cause, percentiles', () => {
    const store = new MetricStore();
    store.recordRequest('GET /', 'GET', 5, 0, 'timeout', 0);
    store.recordRequest('GET /', 'GET', 7, 0, undefined, 1);
    store.bucket(0).vus = 3;
    const series = [...store.series].map(([second, b]) => ({
      second,
      requests: b.requests,
      failures: b.failures,
      causes: b.causes,
      iterations: 0,
      dropped: 0,
      vus: b.vus,
      p50: second === 0 ? 5 : 7,
      p90: 0,
      p95: 0,
      p99: 0,
      max: 0,
    }));
    const csv = renderCsvHistory({
      series,
      measuredStart: Date.parse('2026-01-01T00:00:00Z'),
    } as BenchReport);
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe(
      'Second,Timestamp,VUs,Requests,Failures,Failures status,Failures check,Failures timeout,Failures refused,Failures reset,Failures dns,Failures tls,Failures network,Iterations,Dropped,p50,p90,p95,p99,Max',
    );
    expect(lines[1]).toBe('0,2026-01-01T00:00:00.000Z,3,1,1,0,0,1,0,0,0,0,0,0,0,5,0,0,0,0');
    expect(lines[2]!.startsWith('1,2026-01-01T00:00:01.000Z,0,1,0,')).toBe(true);
    expect(historyFile('out/run.csv')).toBe('out/run_history.csv');
    expect(historyFile('run')).toBe('run_history');
  });

  test('an aborted run exits 1 with or without --assert; Ctrl-C exits 130', () => {
    const result = (over: object) =>
      ({ stopReason: 'duration', passed: true, thresholds: [], ...over }) as never;
    expect(
      runError(result({ stopReason: 'threshold', abortedBy: 'x', passed: false }), false)?.exitCode,
    ).toBe(ExitCode.checkFailed);
    expect(runError(result({ stopReason: 'interrupted' }), false)?.exitCode).toBe(ExitCode.interrupted);
    expect(runError(result({ passed: false }), false)).toBeUndefined();
    expect(runError(result({ passed: false }), true)?.exitCode).toBe(ExitCode.checkFailed);
  });
});

test('lag histogram helper records sub-millisecond values', () => {
  const store = new MetricStore();
  recordMs(store.stats('x').duration, 0.25);
  expect(store.stats('x').duration.getValueAtPercentile(100)).toBe(250);
});
