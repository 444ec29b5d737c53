import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { testOffset } from '../../helpers/ports.js';
import { startStack, type TestStack } from '../../helpers/stack.js';
import { type CliRun, runCli } from './helpers/servers.js';

// The built-in sentinel scenario against the real stack (API → RabbitMQ → worker → PostgreSQL),
// started with the product's own `up`.
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({
    offset: testOffset('benchSentinel'),
    yaml: 'worker:\n  poolSize: 2\napi:\n  rateLimit: 100000\n',
  });
});
afterAll(async () => {
  await stack?.stop();
});

type Figure = {
  metric: string;
  name: string;
  type: string;
  count?: number;
  rate?: number;
  hits?: number;
  total?: number;
  med?: number;
  p99?: number;
};
type Result = {
  scenario: { pollIntervalMs?: number };
  requests: Array<{ name: string; requests: number; failed: number }>;
  metrics: Figure[];
  thresholds: Array<{ metric: string; expression: string; observed: number | null; pass: boolean }>;
};

const fig = (r: Result, metric: string, name = '*') =>
  r.metrics.find((m) => m.metric === metric && m.name === name);

/** bench --scenario SCENARIO against the stack's API, with the run's own flags. */
const bench = (scenario: string, flags: string[]): Promise<CliRun> =>
  runCli(['bench', '--scenario', scenario, '--base-url', stack.urls.apiUrl, ...flags], {
    timeoutMs: 300_000,
  });

/** A sentinel scenario file with one payload. */
function scenarioFile(payload: string, pollTimeout: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-sentinel-'));
  const file = path.join(dir, 'e2e.yaml');
  writeFileSync(file, `kind: sentinel\nsentinel:\n  pollTimeout: ${pollTimeout}\n  payloads:\n${payload}`);
  return file;
}

test('built-in sentinel scenario: submit, poll, check stdout; e2e from the stack timestamps; preset passes', async () => {
  const r = await bench('sentinel', [
    '--poll-interval',
    '50ms',
    '-c',
    '2',
    '--iterations',
    '8',
    '--preset',
    'sentinel',
    '--assert',
  ]);
  expect(r.exitCode, r.stderr).toBe(0);
  const result = r.json.result as unknown as Result;
  expect(result.scenario.pollIntervalMs).toBe(50);
  const submit = result.requests.find((q) => q.name === 'submit')!;
  const poll = result.requests.find((q) => q.name === 'poll')!;
  expect(submit).toMatchObject({ requests: 8, failed: 0 });
  expect(poll.failed).toBe(0);
  // Every job is polled at least once before its terminal status is seen.
  expect(poll.requests).toBeGreaterThanOrEqual(8);
  expect(fig(result, 'e2e_duration')).toMatchObject({ type: 'trend', count: 8 });
  // The API returns created_at/updated_at: every job's e2e comes from the stack's own clock.
  expect(fig(result, 'e2e_server_timed')).toMatchObject({ count: 8 });
  expect(fig(result, 'e2e_client_timed')).toBeUndefined();
  // The client sees a job finish only at its next poll: never earlier than the stack's timestamps say.
  expect(fig(result, 'e2e_observed')!.med!).toBeGreaterThanOrEqual(fig(result, 'e2e_duration')!.med!);
  expect(fig(result, 'checks')).toMatchObject({ rate: 1, hits: 8, total: 8 });
  expect(fig(result, 'execution_errors')).toMatchObject({ rate: 0, hits: 0, total: 8 });
  expect(fig(result, 'poll_timeouts')).toBeUndefined();
  expect(result.thresholds.map((t) => [t.metric, t.expression, t.pass])).toEqual([
    ['http_req_failed', 'rate<0.01', true],
    ['execution_errors', 'rate<0.05', true],
    ['e2e_duration', 'p(99)<30000', true],
    ['poll_timeouts', 'count<10', true],
  ]);
});

test('a program that fails is an execution error and fails the preset (exit 1)', async () => {
  const payload =
    '    - name: exit3\n      language: python\n      source: "import sys\\nsys.exit(3)\\n"\n      expectedStdout: ""\n';
  const r = await bench(scenarioFile(payload, '60s'), [
    '--poll-interval',
    '50ms',
    '-c',
    '1',
    '--iterations',
    '3',
    '--preset',
    'sentinel',
    '--assert',
  ]);
  expect(r.exitCode).toBe(1);
  const result = r.json.result as unknown as Result;
  expect(fig(result, 'execution_errors', 'exit3')).toMatchObject({ hits: 3, total: 3 });
  expect(fig(result, 'checks')).toMatchObject({ hits: 0, total: 3 });
  const failed = result.thresholds.filter((t) => !t.pass).map((t) => [t.metric, t.expression, t.observed]);
  expect(failed).toEqual([['execution_errors', 'rate<0.05', 1]]);
});

test('a job that outlasts the poll timeout is counted as a poll timeout', async () => {
  const payload =
    '    - name: slow\n      language: python\n      source: "import time\\ntime.sleep(3)\\nprint(1)\\n"\n      expectedStdout: "1\\n"\n';
  const r = await bench(scenarioFile(payload, '700ms'), [
    '--poll-interval',
    '100ms',
    '-c',
    '2',
    '--iterations',
    '2',
    '-t',
    'poll_timeouts:count==2',
    '--assert',
  ]);
  expect(r.exitCode, r.stderr).toBe(0);
  const result = r.json.result as unknown as Result;
  expect(fig(result, 'poll_timeouts', 'slow')).toMatchObject({ count: 2 });
  expect(fig(result, 'e2e_duration')).toBeUndefined();
});
