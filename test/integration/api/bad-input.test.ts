import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { msUntilAccepted, RATE_WINDOW_MS } from '../../../src/api/rate-limit.js';
import { cli, cliJson } from '../../helpers/cli.js';
import { type Answer, postSubmission, rawExchange, request } from '../../helpers/http.js';
import { testOffset } from '../../helpers/ports.js';
import { servicePid, startStack, type TestStack } from '../../helpers/stack.js';

/**
 * The hardening issue's HTTP bad-input table against the real stack (`up`): malformed request
 * lines and targets, bad JSON in its forms, NUL bytes, oversized bodies, wrong methods and content
 * types, slow clients. Each row asserts the status, the JSON error, and that the same API process
 * still serves afterwards. Then the outages: Redis down (submissions still accepted), PostgreSQL
 * down (503 with a JSON error).
 */
const OFFSET = testOffset('api');
const RATE_LIMIT = 5;
let stack: TestStack;
let apiPid: number;
let base: string;
let host: string;
let port: number;
/** Every row posts from an address of its own, so the rate limit of 5 per minute never trips them. */
let nextAddress = 10;
const fresh = () => `127.0.0.${nextAddress++}`;

beforeAll(async () => {
  stack = await startStack({
    offset: OFFSET,
    // A short read timeout so the slow-client rows end quickly; a low rate limit to test it.
    yaml: `worker:\n  poolSize: 1\napi:\n  rateLimit: ${RATE_LIMIT}\n  readTimeoutMs: 3000\n`,
  });
  base = stack.urls.apiUrl;
  ({ hostname: host } = new URL(base));
  port = Number(new URL(base).port);
  apiPid = servicePid(stack, 'api');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 120_000);

/** The API still answers, and it is the process `up` started. */
async function stillServing(): Promise<void> {
  const health = await request(`${base}/api/v1/health`);
  expect(health.status).toBe(200);
  expect(servicePid(stack, 'api')).toBe(apiPid);
  expect(() => process.kill(apiPid, 0)).not.toThrow();
}

const failOpenCount = (metrics: Answer) =>
  Number(/^sentinel_api_rate_limit_fail_open_total (\d+)/m.exec(metrics.text)?.[1] ?? Number.NaN);
const ok = { language: 'python', source_code: 'print(1)' };
const big = (n: number) => 'x'.repeat(n);

interface Row {
  name: string;
  send: () => Promise<{ status: number; json: unknown; headers: Record<string, unknown> }>;
  status: number;
  error?: RegExp;
  headers?: Record<string, string | RegExp>;
}

const raw = (bytes: string | Buffer) => rawExchange(host, port, bytes, { from: fresh() });
const post = (body: unknown, headers?: Record<string, string>) =>
  postSubmission(base, body, { from: fresh(), headers });
const method = (m: string, path: string): Promise<Answer> =>
  request(`${base}${path}`, { method: m, from: fresh() });
const UUID0 = '00000000-0000-4000-8000-000000000000';

const rows: Row[] = [
  // Malformed request lines and targets (raw sockets).
  {
    name: 'target //x:99999 (not a URL)',
    send: () => raw('GET //x:99999 HTTP/1.1\r\nHost: a\r\n\r\n'),
    status: 400,
    error: /not a valid URL/,
  },
  {
    name: 'target http://a:b/ (bad port)',
    send: () => raw('GET http://a:b/ HTTP/1.1\r\nHost: a\r\n\r\n'),
    status: 400,
    error: /not a valid URL/,
  },
  {
    name: 'garbage request line',
    send: () => raw('GARBAGE\r\n\r\n'),
    status: 400,
    error: /malformed request/,
  },
  {
    name: 'invalid method token',
    send: () => raw('G@T / HTTP/1.1\r\nHost: a\r\n\r\n'),
    status: 400,
    error: /malformed request/,
  },
  {
    name: 'HTTP/9.9',
    send: () => raw('GET /api/v1/health HTTP/9.9\r\nHost: a\r\n\r\n'),
    status: 400,
    error: /malformed request/,
  },
  {
    name: 'control byte in target',
    send: () => raw('GET /api/\x01v1 HTTP/1.1\r\nHost: a\r\n\r\n'),
    status: 400,
    error: /malformed request/,
  },
  {
    name: 'header without colon',
    send: () => raw('GET /api/v1/health HTTP/1.1\r\nHost a\r\n\r\n'),
    status: 400,
    error: /malformed request/,
  },
  {
    name: 'Content-Length not a number',
    send: () => raw('POST /api/v1/submissions HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n'),
    status: 400,
    error: /malformed request/,
  },
  {
    name: 'Content-Length and Transfer-Encoding',
    send: () =>
      raw(
        'POST /api/v1/submissions HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ),
    status: 400,
    error: /malformed request/,
  },
  {
    name: '20 KB header',
    send: () => raw(`GET /api/v1/health HTTP/1.1\r\nHost: a\r\nX-Big: ${big(20_000)}\r\n\r\n`),
    status: 431,
    error: /headers are too large/,
  },
  {
    name: 'broken percent-encoding in the id',
    send: () => method('GET', '/api/v1/submissions/%E0%A4%A'),
    status: 400,
    error: /must be a UUID/,
  },
  {
    name: 'unknown job id',
    send: () => method('GET', `/api/v1/submissions/${UUID0}`),
    status: 404,
    error: /no job/,
  },
  { name: 'unknown route', send: () => method('GET', '/api/v2/nothing'), status: 404, error: /no route/ },
  // Bad JSON in its forms.
  { name: 'empty body', send: () => post(''), status: 400, error: /body is empty/ },
  { name: 'truncated JSON', send: () => post('{"language":"python",'), status: 400, error: /not valid JSON/ },
  {
    name: 'trailing garbage',
    send: () => post('{"language":"python","source_code":"print(1)"}x'),
    status: 400,
    error: /not valid JSON/,
  },
  { name: 'JSON array', send: () => post('[]'), status: 400, error: /must be a JSON object/ },
  { name: 'JSON null', send: () => post('null'), status: 400, error: /must be a JSON object/ },
  { name: 'JSON string', send: () => post('"print(1)"'), status: 400, error: /must be a JSON object/ },
  { name: 'single quotes', send: () => post("{'language':'python'}"), status: 400, error: /not valid JSON/ },
  {
    name: 'missing source_code',
    send: () => post({ language: 'python' }),
    status: 400,
    error: /source_code must be a string/,
  },
  {
    name: 'unknown language',
    send: () => post({ ...ok, language: 'ruby' }),
    status: 400,
    error: /language must be/,
  },
  {
    name: 'source_code a number',
    send: () => post({ ...ok, source_code: 5 }),
    status: 400,
    error: /source_code must be a string/,
  },
  {
    name: 'whitespace-only source',
    send: () => post({ ...ok, source_code: ' \n\t ' }),
    status: 400,
    error: /only whitespace/,
  },
  {
    name: 'time_limit_ms a string',
    send: () => post({ ...ok, time_limit_ms: '5' }),
    status: 400,
    error: /time_limit_ms must be a number/,
  },
  {
    name: 'time_limit_ms 1.5',
    send: () => post({ ...ok, time_limit_ms: 1.5 }),
    status: 400,
    error: /must be an integer/,
  },
  {
    name: 'time_limit_ms 10001',
    send: () => post({ ...ok, time_limit_ms: 10_001 }),
    status: 400,
    error: /at most 10000/,
  },
  {
    name: 'memory_limit_kb 10',
    send: () => post({ ...ok, memory_limit_kb: 10 }),
    status: 400,
    error: /at least 1024/,
  },
  {
    name: 'nested 17 levels',
    send: () => post(`{"language":"python","source_code":"1","x":${'['.repeat(17)}${']'.repeat(17)}}`),
    status: 400,
    error: /nested deeper than 16/,
  },
  // NUL bytes (PostgreSQL text cannot hold them).
  {
    name: 'NUL in source_code',
    send: () => post({ ...ok, source_code: 'print(1)\u0000' }),
    status: 400,
    error: /source_code must not contain NUL/,
  },
  {
    name: 'NUL in stdin',
    send: () => post({ ...ok, stdin: 'a\u0000b' }),
    status: 400,
    error: /stdin must not contain NUL/,
  },
  // Oversized bodies: the client receives its 413.
  {
    name: 'source 64 KB + 1',
    send: () => post({ ...ok, source_code: big(64 * 1024 + 1) }),
    status: 413,
    error: /source_code is larger than 64 KB/,
  },
  {
    name: 'stdin 64 KB + 1',
    send: () => post({ ...ok, stdin: big(64 * 1024 + 1) }),
    status: 413,
    error: /stdin is larger than 64 KB/,
  },
  {
    name: '10 MB source',
    send: () => post({ ...ok, source_code: big(10 * 1024 * 1024) }),
    status: 413,
    error: /body is larger than 272 KB/,
  },
  {
    name: '1 MB stdin',
    send: () => post({ ...ok, stdin: big(1024 * 1024) }),
    status: 413,
    error: /body is larger than 272 KB/,
  },
  {
    name: 'deeply nested 2 MB',
    send: () => post(`${'['.repeat(1024 * 1024)}${']'.repeat(1024 * 1024)}`),
    status: 413,
    error: /body is larger/,
  },
  {
    name: 'Expect: 100-continue with 10 MB declared',
    send: () =>
      raw(
        'POST /api/v1/submissions HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\nExpect: 100-continue\r\n\r\n',
      ),
    status: 413,
    error: /body is larger/,
  },
  // Wrong methods and content types.
  {
    name: 'DELETE /api/v1/submissions',
    send: () => method('DELETE', '/api/v1/submissions'),
    status: 405,
    error: /not allowed/,
    headers: { allow: 'POST, OPTIONS' },
  },
  {
    name: 'PUT /api/v1/health',
    send: () => method('PUT', '/api/v1/health'),
    status: 405,
    error: /not allowed/,
    headers: { allow: 'GET, HEAD, OPTIONS' },
  },
  {
    name: 'POST to a job',
    send: () => method('POST', `/api/v1/submissions/${UUID0}`),
    status: 405,
    error: /not allowed/,
    headers: { allow: 'GET, HEAD, OPTIONS' },
  },
  {
    name: 'text/plain body',
    send: () => post(ok, { 'content-type': 'text/plain' }),
    status: 415,
    error: /send application\/json/,
  },
  {
    name: 'form-encoded body',
    send: () => post('language=python', { 'content-type': 'application/x-www-form-urlencoded' }),
    status: 415,
    error: /not supported/,
  },
  // Slow clients: cut off after the read timeout (3 s here) with a 408.
  {
    name: 'headers never finished',
    send: () => raw('GET /api/v1/health HTTP/1.1\r\nHost: a\r\n'),
    status: 408,
    error: /not received in time/,
  },
  {
    name: 'body never finished',
    send: () =>
      raw(
        'POST /api/v1/submissions HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"lang',
      ),
    status: 408,
    error: /not received in time/,
  },
  // And what is fine still is.
  {
    name: 'null optional fields',
    send: () => post({ ...ok, stdin: null, time_limit_ms: null, memory_limit_kb: null }),
    status: 202,
  },
  {
    name: 'application/json; charset=utf-8',
    send: () => post(ok, { 'content-type': 'application/json; charset=utf-8' }),
    status: 202,
  },
];

describe('HTTP bad input against the real API', () => {
  test.each(rows)(
    '$name → $status',
    async (row) => {
      const r = await row.send();
      expect(r.status).toBe(row.status);
      if (row.error) {
        expect(r.json).toEqual({ error: expect.stringMatching(row.error) });
      } else {
        expect(r.json).toMatchObject({ status: 'QUEUED', job_id: expect.any(String) });
      }
      for (const [k, v] of Object.entries(row.headers ?? {})) {
        expect(r.headers[k]).toEqual(typeof v === 'string' ? v : expect.stringMatching(v));
      }
      await stillServing();
    },
    60_000,
  );

  test('submit with a 10 MB source gets the 413 and exits 2', async () => {
    const file = path.join(stack.dir, 'huge.py');
    writeFileSync(file, `# ${'x'.repeat(10 * 1024 * 1024)}\nprint(1)\n`);
    const r = await cliJson(['submit', file, '--api-url', base]);
    expect(r.exitCode).toBe(2);
    expect(r.json.error?.message).toMatch(/HTTP 413\): request body is larger than 272 KB/);
    await stillServing();
  }, 60_000);

  test('a slow client does not hold up others', async () => {
    const slow = raw('GET /api/v1/health HTTP/1.1\r\nHost: a\r\n');
    const quick = await request(`${base}/api/v1/health`);
    expect(quick.status).toBe(200);
    expect((await slow).status).toBe(408);
  }, 60_000);

  test('rate limit: Retry-After is the time until acceptance; refused requests do not count', async () => {
    const from = fresh();
    const codes: number[] = [];
    const retryAfter: number[] = [];
    const started = Date.now();
    for (let i = 0; i < RATE_LIMIT + 3; i++) {
      const r = await postSubmission(base, ok, { from });
      codes.push(r.status);
      if (r.status === 429) {
        expect(r.json).toEqual({ error: `rate limit of ${RATE_LIMIT} submissions per minute exceeded` });
        retryAfter.push(Number(r.headers['retry-after']));
      }
    }
    const now = Date.now();
    expect(codes).toEqual([...Array(RATE_LIMIT).fill(202), 429, 429, 429]);
    // Five accepted in this window (or the last one, if the minute turned meanwhile); the refused
    // three did not count, so every Retry-After is the same computation over five.
    const sameWindow = Math.floor(started / RATE_WINDOW_MS) === Math.floor(now / RATE_WINDOW_MS);
    const expected = Math.ceil(
      msUntilAccepted(
        sameWindow ? 0 : RATE_LIMIT,
        sameWindow ? RATE_LIMIT : 0,
        RATE_LIMIT,
        now % RATE_WINDOW_MS,
      ) / 1000,
    );
    for (const s of retryAfter) expect(Math.abs(s - expected)).toBeLessThanOrEqual(1);
    await stillServing();
  }, 60_000);
});

describe('outages', () => {
  test('Redis stalled (CLIENT PAUSE): submissions are accepted without waiting for it', async () => {
    const redis = new Redis(stack.urls.redisUrl, { lazyConnect: true });
    await redis.connect();
    try {
      const before = failOpenCount(await request(`${base}/metrics`));
      await redis.call('CLIENT', 'PAUSE', '5000', 'ALL');
      const r = await postSubmission(base, ok, { from: fresh() });
      expect(r.status).toBe(202);
      expect(r.headers['x-ratelimit-limit']).toBeUndefined();
      expect(failOpenCount(await request(`${base}/metrics`))).toBe(before + 1);
    } finally {
      await redis.call('CLIENT', 'UNPAUSE').catch(() => {});
      redis.disconnect();
    }
  }, 60_000);

  test('Redis down: submissions are still accepted, counted as unthrottled', async () => {
    expect((await cli(['down', '--services', 'redis', ...stack.args])).exitCode).toBe(0);
    const r = await postSubmission(base, ok, { from: fresh() });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ status: 'QUEUED' });
    const metrics = await request(`${base}/metrics`);
    expect(metrics.text).toMatch(/^sentinel_api_rate_limit_fail_open_total [1-9]/m);
    const health = await request(`${base}/api/v1/health`);
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({
      status: 'degraded',
      services: { redis: expect.stringMatching(/^down/) },
    });
    expect(servicePid(stack, 'api')).toBe(apiPid);
  }, 120_000);

  test('PostgreSQL down: 503 with a JSON error, and the API stays up', async () => {
    expect((await cli(['down', '--services', 'postgres', ...stack.args])).exitCode).toBe(0);
    const submit = await postSubmission(base, ok, { from: fresh() });
    expect(submit.status).toBe(503);
    expect(submit.json).toEqual({ error: expect.stringMatching(/^database unavailable/) });
    const get = await request(`${base}/api/v1/submissions/${UUID0}`);
    expect(get.status).toBe(503);
    expect(get.json).toEqual({ error: expect.stringMatching(/^database unavailable/) });
    const health = await request(`${base}/api/v1/health`);
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ services: { postgres: expect.stringMatching(/^down/) } });
    expect(servicePid(stack, 'api')).toBe(apiPid);
    expect(() => process.kill(apiPid, 0)).not.toThrow();
  }, 120_000);
});
