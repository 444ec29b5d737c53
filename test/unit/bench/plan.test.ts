import { describe, expect, test } from 'vitest';
import { type BenchInput, resolvePlan } from '../../../src/bench/cli.js';
import { UserError } from '../../../src/lib/errors.js';

const input = (over: Partial<BenchInput>): BenchInput => ({
  method: 'GET',
  workers: 1,
  timeout: '60s',
  prime: true,
  assert: false,
  progress: 'none',
  ...over,
});
const api = () => 'http://127.0.0.1:8080';

describe('plan from flags and scenario', () => {
  test.each([
    [{}, { model: 'closed', startLevel: 10, stages: [{ durationMs: 10_000, target: 10 }], connections: 10 }],
    [
      { vus: 50, duration: '30s' },
      { model: 'closed', startLevel: 50, stages: [{ durationMs: 30_000, target: 50 }], connections: 50 },
    ],
    [
      { stages: '30s:10,1m:100' },
      {
        model: 'closed',
        startLevel: 0,
        stages: [
          { durationMs: 30_000, target: 10 },
          { durationMs: 60_000, target: 100 },
        ],
        connections: 100,
      },
    ],
    [
      { stages: '30s:10', warmup: '5s' },
      { startLevel: 10, warmupMs: 5000 },
    ],
    [{ iterations: 100 }, { iterations: 100, stages: [{ durationMs: 600_000, target: 10 }] }],
    [
      { rate: 200, duration: '1m' },
      { model: 'open', startLevel: 200, preAllocatedVUs: 200, maxVUs: 6000, connections: 512 },
    ],
    [
      { rate: 5, 'max-vus': 20, vus: 2 },
      { model: 'open', preAllocatedVUs: 2, maxVUs: 20, connections: 20 },
    ],
    [
      { model: 'open', stages: '10s:0,10s:50' } as Partial<BenchInput>,
      { model: 'open', startLevel: 0, maxVUs: 1500 },
    ],
    [
      { workers: 2, connections: 8 },
      { workers: 2, connections: 8 },
    ],
  ])('%o', async (flags, want) => {
    expect(
      (await resolvePlan(input({ target: 'http://127.0.0.1:9/x?y=1', ...flags }), api)).load,
    ).toMatchObject(want);
  });

  test('quick mode builds one named request with headers and a JSON body', async () => {
    const plan = await resolvePlan(
      input({
        target: 'http://127.0.0.1:9/api?q=1',
        method: 'POST',
        header: ['X-A: b'],
        body: '{"a":1}',
        expect: [201],
      }),
      api,
    );
    expect(plan.scenario.spec).toMatchObject({
      kind: 'http',
      baseUrl: 'http://127.0.0.1:9',
      requests: [
        {
          name: 'POST /api?q=1',
          method: 'POST',
          path: '/api?q=1',
          headers: { 'x-a': 'b', 'content-type': 'application/json' },
          body: '{"a":1}',
          expect: [201],
        },
      ],
    });
  });

  test('the built-in sentinel scenario uses the local API port and a graceful stop longer than its poll timeout', async () => {
    const plan = await resolvePlan(input({ scenario: 'sentinel', preset: ['sentinel'] }), api);
    expect(plan.scenario.spec).toMatchObject({
      kind: 'sentinel',
      baseUrl: 'http://127.0.0.1:8080',
      pollTimeoutMs: 30_000,
    });
    expect(plan.load.gracefulStopMs).toBe(35_000);
    expect(plan.thresholds.map((t) => `${t.key}:${t.expression}`)).toEqual([
      'http_req_failed:rate<0.01',
      'execution_errors:rate<0.05',
      'e2e_duration:p(99)<30000',
      'poll_timeouts:count<10',
    ]);
  });

  test('the shipped jackdaw profile: its stages, weights and thresholds', async () => {
    process.env.JACKDAW_USER = 'bench';
    process.env.JACKDAW_PASSWORD = 'bench';
    const plan = await resolvePlan(input({ scenario: 'jackdaw' }), api);
    const spec = plan.scenario.spec;
    expect(spec.kind === 'http' && spec.requests.map((r) => r.weight)).toEqual([54, 18, 9, 9, 5, 3, 2]);
    expect(spec.kind === 'http' && spec.thinkTime).toEqual({ minMs: 500, maxMs: 2000 });
    expect(plan.load.stages).toEqual([
      { durationMs: 10_000, target: 100 },
      { durationMs: 290_000, target: 100 },
    ]);
    expect(plan.thresholds).toHaveLength(5);
  });

  test.each([
    [{ target: 'http://h/', scenario: 'sentinel' }, 'Give either a URL or --scenario, not both.'],
    [{}, 'Nothing to benchmark'],
    [{ target: 'ftp://h/' }, 'is not an http(s) URL'],
    [{ target: 'http://h/', model: 'open' } as Partial<BenchInput>, 'The open model needs an arrival rate.'],
    [{ target: 'http://h/', duration: 'long' }, '--duration "long" is not a duration.'],
    [{ target: 'http://h/', header: ['novalue'] }, '--header "novalue" is not "Name: value".'],
    [
      { target: 'http://h/', threshold: ['http_req_duration{name:login}:p(95)<1'] },
      'selects name "login", which this scenario does not have',
    ],
    [{ scenario: '/nonexistent.yaml' }, '/nonexistent.yaml does not exist (expected a YAML scenario file).'],
  ])('%o → exit 2', async (flags, message) => {
    let error: unknown;
    try {
      await resolvePlan(input(flags), api);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toContain(message);
  });
});
