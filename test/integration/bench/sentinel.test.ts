import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { runCli, startSentinelServer, type TestServer } from './helpers/servers.js';

type Figure = {
  metric: string;
  name: string;
  type: string;
  count?: number;
  rate?: number;
  hits?: number;
  total?: number;
  p99?: number;
};
type Result = {
  requests: Array<{ name: string; requests: number; failed: number }>;
  metrics: Figure[];
  thresholds: Array<{ metric: string; expression: string; observed: number | null; pass: boolean }>;
};

let server: TestServer | undefined;
afterEach(() => server?.close());

/** The built-in scenario with fast polling, as a file (the built-in polls once a second). */
function scenarioFile(pollInterval: string, pollTimeout: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-sentinel-'));
  const file = path.join(dir, 'e2e.yaml');
  writeFileSync(
    file,
    `kind: sentinel\nsentinel:\n  pollInterval: ${pollInterval}\n  pollTimeout: ${pollTimeout}\n`,
  );
  return file;
}

const fig = (r: Result, metric: string, name = '*') =>
  r.metrics.find((m) => m.metric === metric && m.name === name);

test('built-in sentinel scenario: submit, poll to a terminal status, check stdout; preset sentinel passes', async () => {
  server = await startSentinelServer({ execMs: 150 });
  const r = await runCli([
    'bench',
    '--scenario',
    scenarioFile('50ms', '5s'),
    '--base-url',
    server.url,
    '-c',
    '4',
    '--iterations',
    '40',
    '--preset',
    'sentinel',
    '--assert',
  ]);
  expect(r.exitCode).toBe(0);
  const result = r.json.result as unknown as Result;
  const submit = result.requests.find((q) => q.name === 'submit')!;
  const poll = result.requests.find((q) => q.name === 'poll')!;
  expect(submit).toMatchObject({ requests: 40, failed: 0 });
  expect(poll.failed).toBe(0);
  // Every job is polled at least once before its terminal status is seen.
  expect(poll.requests).toBeGreaterThanOrEqual(40);
  expect(fig(result, 'e2e_duration')).toMatchObject({ type: 'trend', count: 40 });
  expect(fig(result, 'e2e_duration')!.p99!).toBeGreaterThanOrEqual(150);
  expect(fig(result, 'checks')).toMatchObject({ rate: 1, hits: 40, total: 40 });
  expect(fig(result, 'execution_errors')).toMatchObject({ rate: 0, hits: 0, total: 40 });
  expect(fig(result, 'poll_timeouts')).toBeUndefined();
  expect(result.thresholds.map((t) => [t.metric, t.expression, t.pass])).toEqual([
    ['http_req_failed', 'rate<0.01', true],
    ['execution_errors', 'rate<0.05', true],
    ['e2e_duration', 'p(99)<30000', true],
    ['poll_timeouts', 'count<10', true],
  ]);
});

test('execution errors and poll timeouts are counted and fail the preset', async () => {
  // Job 5, 10, ... end in RUNTIME_ERROR; jobs 4, 8, ... never finish (poll timeout 600 ms).
  server = await startSentinelServer({ execMs: 100, errorEvery: 5, hangEvery: 4 });
  const r = await runCli([
    'bench',
    '--scenario',
    scenarioFile('50ms', '600ms'),
    '--base-url',
    server.url,
    '-c',
    '1',
    '--iterations',
    '40',
    '--preset',
    'sentinel',
    '--assert',
    '-t',
    'poll_timeouts:count==10',
  ]);
  expect(r.exitCode).toBe(1);
  const result = r.json.result as unknown as Result;
  // One VU submits jobs 1..40 in order: 10 hang (4, 8, ..., 40); of the 30 that finish,
  // 5, 10, 15, 25, 30, 35 error (20 and 40 hang instead): 6 of 30.
  expect(fig(result, 'poll_timeouts')).toMatchObject({ count: 10 });
  expect(fig(result, 'execution_errors')).toMatchObject({ hits: 6, total: 30 });
  expect(fig(result, 'checks')).toMatchObject({ hits: 24, total: 30 });
  expect(result.thresholds.map((t) => [t.metric, t.expression, t.observed, t.pass])).toEqual([
    ['http_req_failed', 'rate<0.01', 0, true],
    ['execution_errors', 'rate<0.05', 6 / 30, false],
    ['e2e_duration', 'p(99)<30000', expect.any(Number), true],
    ['poll_timeouts', 'count<10', 10, false],
    ['poll_timeouts', 'count==10', 10, true],
  ]);
});
