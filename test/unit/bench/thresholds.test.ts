import { describe, expect, test } from 'vitest';
import { MetricStore } from '../../../src/bench/metrics.js';
import { presetThresholds } from '../../../src/bench/presets.js';
import {
  evaluateThresholds,
  parseThreshold,
  parseThresholdFlag,
  type ThresholdDef,
} from '../../../src/bench/thresholds.js';
import { UserError } from '../../../src/lib/errors.js';

const parse = (key: string, expression: string) => parseThreshold({ key, expression, source: 'test' });

describe('threshold parser accepts k6 expressions', () => {
  test.each([
    ['http_req_duration', 'p(95)<100', { aggregation: 'p', percentile: 95, operator: '<', value: 100 }],
    [
      'http_req_duration',
      'p(99.9) <= 250.5',
      { aggregation: 'p', percentile: 99.9, operator: '<=', value: 250.5 },
    ],
    ['http_req_duration', 'p(100)<1', { aggregation: 'p', percentile: 100, operator: '<', value: 1 }],
    ['http_req_duration', 'avg<200', { aggregation: 'avg', operator: '<', value: 200 }],
    ['http_req_duration', 'med>=1', { aggregation: 'med', operator: '>=', value: 1 }],
    ['http_req_duration', ' min > 0 ', { aggregation: 'min', operator: '>', value: 0 }],
    ['http_req_duration', 'max!=5', { aggregation: 'max', operator: '!=', value: 5 }],
    ['http_req_failed', 'rate<0.001', { aggregation: 'rate', operator: '<', value: 0.001 }],
    ['http_reqs', 'rate>500', { aggregation: 'rate', operator: '>', value: 500 }],
    ['http_reqs', 'count==1e3', { aggregation: 'count', operator: '==', value: 1000 }],
    ['e2e_duration', 'p(99)<30000', { aggregation: 'p', percentile: 99, operator: '<', value: 30000 }],
    ['poll_timeouts', 'count<10', { aggregation: 'count', operator: '<', value: 10 }],
    ['vus_max', 'value<=1000', { aggregation: 'value', operator: '<=', value: 1000 }],
    ['checks', 'rate>0.95', { aggregation: 'rate', operator: '>', value: 0.95 }],
    ['dropped_iterations', 'count==0', { aggregation: 'count', operator: '==', value: 0 }],
  ])('%s: %s', (key, expression, want) => {
    expect(parse(key, expression)).toMatchObject(want);
  });

  test.each([
    ['http_req_duration{name:login}', { metric: 'http_req_duration', tags: { name: 'login' } }],
    ['http_req_duration{method:POST}', { metric: 'http_req_duration', tags: { method: 'POST' } }],
    ['http_reqs{name:a b, method:GET}', { metric: 'http_reqs', tags: { name: 'a b', method: 'GET' } }],
    ["e2e_duration{name:'cpp-hello'}", { metric: 'e2e_duration', tags: { name: 'cpp-hello' } }],
  ])('selector %s', (key, want) => {
    expect(
      parse(key, 'p(95)<1'.replace('p(95)', key.startsWith('http_reqs') ? 'count' : 'p(95)')),
    ).toMatchObject(want);
  });
});

describe('threshold parser rejects malformed expressions with exit 2 and a pointer', () => {
  test.each([
    ['http_req_duration', 'p95<100', 'expected "(" after p, as in p(95)', 1],
    ['http_req_duration', 'pct(95)<100', 'unknown aggregation "pct"', 0],
    ['http_req_duration', 'p(95<100', 'expected ")" to close p(', 4],
    ['http_req_duration', 'p()<100', 'expected a percentile number', 2],
    ['http_req_duration', 'p(0)<100', 'the percentile must be in (0, 100]', 2],
    ['http_req_duration', 'p(101)<100', 'the percentile must be in (0, 100]', 2],
    ['http_req_duration', 'p(95)=<100', 'expected an operator', 5],
    ['http_req_duration', 'p(95)<', 'expected a number', 6],
    ['http_req_duration', 'p(95)<100ms', 'unexpected "ms" after the number', 9],
    ['http_req_duration', 'rate<1', 'rate does not apply to http_req_duration (a trend)', 0],
    ['http_req_failed', 'p(95)<1', 'p(95) does not apply to http_req_failed (a rate)', 0],
    ['http_reqs', 'avg<1', 'avg does not apply to http_reqs (a counter)', 0],
    ['http_req_duration', '<100', 'expected an aggregation', 0],
    ['http_req_duration', '', 'expected an aggregation', 0],
  ])('%s: %s', (key, expression, reason, column) => {
    let error: unknown;
    try {
      parse(key, expression);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    const err = error as UserError;
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(reason);
    const [, shown, pointer] = err.message.split('\n');
    expect(shown).toBe(expression);
    expect(pointer).toBe(`${' '.repeat(column)}^`);
  });

  test.each([
    ['http_req_latency', 'unknown metric "http_req_latency"'],
    ['http_req_duration{status:200}', 'unknown tag "status"'],
    ['e2e_duration{method:GET}', 'the method tag applies to http_* metrics only'],
    ['http_req_duration{name}', 'selector "name" is not tag:value'],
    ['http_req_duration name', 'expected METRIC or METRIC{tag:value}'],
  ])('metric key %s', (key, reason) => {
    expect(() => parse(key, 'p(95)<1')).toThrow(reason);
  });
});

describe('command-line form METRIC:EXPR[;options]', () => {
  test.each([
    [
      'http_req_duration:p(95)<100',
      { key: 'http_req_duration', expression: 'p(95)<100', abortOnFail: false },
    ],
    [
      'http_req_duration{name:login}:p(99)<200',
      { key: 'http_req_duration{name:login}', tags: { name: 'login' } },
    ],
    ['http_req_failed: rate<0.01;abortOnFail', { abortOnFail: true, delayAbortEvalMs: 0 }],
    [
      'http_req_failed:rate<0.01;abortOnFail;delayAbortEval=10s',
      { abortOnFail: true, delayAbortEvalMs: 10_000 },
    ],
  ])('%s', (text, want) => {
    expect(parseThresholdFlag(text, 0)).toMatchObject(want);
  });

  test.each([
    ['http_req_duration', 'expected METRIC:EXPRESSION'],
    ['http_req_duration:p(95)<1;abortOnFial', 'unknown option "abortOnFial"'],
    ['http_req_duration:p(95)<1;delayAbortEval=soon', 'delayAbortEval must be a duration'],
  ])('rejects %s', (text, reason) => {
    expect(() => parseThresholdFlag(text, 2)).toThrow(reason);
    expect(() => parseThresholdFlag(text, 2)).toThrow('--threshold #3');
  });
});

describe('evaluation', () => {
  // 100 requests to "a" at 1..100 ms (5 failed by status), 100 to "b" (POST) at 200 ms.
  const store = new MetricStore();
  for (let i = 1; i <= 100; i++) store.recordRequest('a', 'GET', i, 10, i <= 5 ? 'status' : undefined, 0);
  for (let i = 1; i <= 100; i++) store.recordRequest('b', 'POST', 200, 10, undefined, 0);
  store.addTrend('e2e_duration', 'python-print', 1500);
  store.addRate('execution_errors', 'python-print', true);
  store.addRate('execution_errors', 'python-print', false);
  store.addCount('poll_timeouts', 'python-print', 3);
  const input = { store, durationMs: 10_000, gauges: { vus: 4, vus_max: 8 } };
  const judge = (key: string, expr: string) => evaluateThresholds([parse(key, expr)], input)[0]!;

  test.each([
    ['http_reqs', 'count==200', 200, '200', true],
    ['http_reqs', 'rate>=20', 20, '20/s', true],
    ['http_reqs{name:a}', 'count==100', 100, '100', true],
    ['http_reqs{method:POST}', 'count==100', 100, '100', true],
    ['http_req_failed', 'rate<0.01', 0.025, '2.5%', false],
    ['http_req_failed{name:a}', 'rate==0.05', 0.05, '5%', true],
    ['http_req_failed{name:b}', 'rate==0', 0, '0%', true],
    ['http_req_duration{name:b}', 'p(95)<200', 200.063, '200.06ms', false],
    ['http_req_duration{name:a}', 'max<=100.1', 100.031, '100.03ms', true],
    ['http_req_duration{name:a}', 'min==1', 1, '1ms', true],
    ['http_req_duration{name:a}', 'med<51', 50.015, '50.02ms', true],
    ['data_received', 'count==2000', 2000, '2000', true],
    ['e2e_duration', 'p(99)<30000', 1500.159, '1500.16ms', true],
    ['execution_errors', 'rate<0.05', 0.5, '50%', false],
    ['poll_timeouts', 'count<10', 3, '3', true],
    ['poll_timeouts{name:cpp-hello}', 'count<10', 0, '0', true],
    ['vus', 'value==4', 4, '4', true],
    ['vus_max', 'value<8', 8, '8', false],
  ])('%s %s → %s', (key, expr, observed, text, pass) => {
    const r = judge(key, expr);
    expect(r.observed).toBeCloseTo(observed, 3);
    expect(r.observedText).toBe(text);
    expect(r.pass).toBe(pass);
  });

  test('a threshold with no data fails (CI never passes on nothing)', () => {
    const r = judge('checks', 'rate>0.9');
    expect(r).toMatchObject({ observed: null, observedText: 'no data', pass: false });
  });

  test('presets cite their guide and parse', () => {
    for (const name of ['jackdaw', 'sentinel', 'sark'] as const) {
      const defs: ThresholdDef[] = presetThresholds(name).map(parseThreshold);
      expect(defs.length).toBeGreaterThan(1);
      for (const d of defs) expect(d.source).toMatch(/guide/);
    }
    expect(presetThresholds('jackdaw').map((t) => `${t.key}:${t.expression}`)).toEqual([
      'http_req_duration:p(50)<50',
      'http_req_duration:p(95)<100',
      'http_req_duration:p(99)<200',
      'http_req_failed:rate<0.001',
      'http_reqs:rate>500',
    ]);
  });
});
