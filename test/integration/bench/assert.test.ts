import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli, startHttpServer, type TestServer } from './helpers/servers.js';

const p95Fails = (r: { json: { result?: unknown } }) =>
  ((r.json.result as { requests: Row[] }).requests.at(-1)!.latency.p95 ?? 0) >= 100;

type Threshold = {
  metric: string;
  expression: string;
  observed: number | null;
  observedText: string;
  pass: boolean;
};
type Row = { name: string; requests: number; failed: number; latency: { p95: number; p99: number } };

beforeAll(() => {
  if (!existsSync(new URL('../../../dist/commands/bench/index.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` before the integration tests');
  }
});

describe('bench --assert against a server with 5 ms latency and 1 % errors', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Every 100th request fails: with exactly 400 requests that is 4 failures, a rate of 0.01.
    server = await startHttpServer({ latencyMs: 5, failEvery: 100 });
  });
  afterAll(() => server.close());

  const base = () => ['bench', server.url, '-c', '4', '--iterations', '400', '--assert'];

  test('exit 0 when every threshold holds, with the observed values in the table', async () => {
    const r = await runCli([
      ...base(),
      '-t',
      'http_req_duration:p(95)<5000',
      '-t',
      'http_req_failed:rate<0.05',
      '-t',
      'http_reqs:count==400',
    ]);
    expect(r.exitCode).toBe(0);
    const result = r.json.result as { thresholds: Threshold[]; requests: Row[]; passed: boolean };
    expect(result.passed).toBe(true);
    const all = result.requests.at(-1)!;
    expect(all).toMatchObject({ name: '*', requests: 400, failed: 4 });
    expect(result.thresholds.map((t) => [t.metric, t.expression, t.observed, t.pass])).toEqual([
      ['http_req_duration', 'p(95)<5000', all.latency.p95, true],
      ['http_req_failed', 'rate<0.05', 0.01, true],
      ['http_reqs', 'count==400', 400, true],
    ]);
    // The server holds every response 5 ms: no latency can be below that.
    expect(all.latency.p95).toBeGreaterThanOrEqual(5);
    expect(server.count()).toBe(400);
  });

  test('exit 1 when a threshold fails; the JSON still lists every threshold and verdict', async () => {
    const r = await runCli([
      ...base(),
      '-t',
      'http_req_duration:p(95)<1',
      '-t',
      'http_req_failed:rate<0.005',
      '--preset',
      'sark',
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.json.error).toMatchObject({ code: 'THRESHOLDS_FAILED', exitCode: 1 });
    expect(r.json.error!.message).toContain(`${p95Fails(r) ? 4 : 3} of 4 thresholds failed`);
    const result = r.json.result as { thresholds: Threshold[]; requests: Row[]; passed: boolean };
    const p95 = result.requests.at(-1)!.latency.p95;
    expect(result.passed).toBe(false);
    expect(result.thresholds.map((t) => [t.metric, t.expression, t.observed, t.pass])).toEqual([
      // The verdict follows the observed value (a busy CI machine may well be slower than 100 ms).
      ['http_req_duration', 'p(95)<100', p95, p95 < 100],
      ['http_req_failed', 'rate<0.01', 0.01, false],
      ['http_req_duration', 'p(95)<1', p95, false],
      ['http_req_failed', 'rate<0.005', 0.01, false],
    ]);
    expect(result.thresholds[1]!.observedText).toBe('1%');
  });

  test('a malformed threshold exits 2 pointing at the fault, before any request is sent', async () => {
    const before = server.count();
    const r = await runCli(['bench', server.url, '--iterations', '10', '-t', 'http_req_duration:p(95<100']);
    expect(r.exitCode).toBe(2);
    expect(r.json.error!.message).toBe(
      'Invalid threshold in --threshold #1: expected ")" to close p(\np(95<100\n    ^',
    );
    expect(server.count()).toBe(before);
  });

  test('abortOnFail stops the run early and exits 1, with or without --assert', async () => {
    const r = await runCli([
      'bench',
      server.url,
      '-c',
      '4',
      '-d',
      '60s',
      '-t',
      'http_req_duration:p(95)<1;abortOnFail',
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.json.error).toMatchObject({ code: 'ABORTED', exitCode: 1 });
    const result = r.json.result as { stopReason: string; abortedBy: string; measuredMs: number };
    expect(result.stopReason).toBe('threshold');
    expect(result.abortedBy).toBe('http_req_duration: p(95)<1');
    expect(result.measuredMs).toBeLessThan(30_000);
  });
});

describe('timeouts and interruption', () => {
  let slow: TestServer;
  beforeAll(async () => {
    slow = await startHttpServer({ latencyMs: 300 });
  });
  afterAll(() => slow.close());

  test('--timeout below one second fires at its value and counts as timeouts', async () => {
    const r = await runCli(['bench', slow.url, '-c', '2', '--iterations', '6', '--timeout', '100ms']);
    const result = r.json.result as {
      requests: Array<{ requests: number; failed: number; failures: Record<string, number> }>;
    };
    const all = result.requests.at(-1)!;
    expect(all).toMatchObject({ requests: 6, failed: 6 });
    // Each fired before the 300 ms answer came (otherwise the request would have succeeded).
    expect(all.failures.timeout).toBe(6);
    expect(r.json.warnings.join('\n')).toMatch(
      /The target failed 6 of 6 requests without a response \(6 timed out\)/,
    );
  });

  test('connection refused is reported by cause, and the target is blamed', async () => {
    const r = await runCli(['bench', 'http://127.0.0.1:9/', '-c', '1', '--iterations', '3']);
    const all = (
      r.json.result as { requests: Array<{ failed: number; failures: Record<string, number> }> }
    ).requests.at(-1)!;
    expect(all.failed).toBe(3);
    expect(all.failures.refused).toBe(3);
    expect(r.json.warnings.join('\n')).toMatch(
      /3 connection refused\) — is it running at http:\/\/127\.0\.0\.1:9/,
    );
  });
});
