import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { cli, cliJson } from '../../helpers/cli.js';
import { type Answer, postSubmission, request } from '../../helpers/http.js';
import { testOffset } from '../../helpers/ports.js';
import { startStack, type TestStack } from '../../helpers/stack.js';

/**
 * The API contract of docs/api.md against the real stack (`up`): one table of requests per route
 * with status, headers and body shape; the WebSocket stream (a C++ job's whole status sequence,
 * close codes, invalid and unknown ids, a client that leaves early, pings); CORS from a real
 * browser (headless Chromium on another origin); request ids in the API's and the worker's logs.
 */
const OFFSET = testOffset('apiContract');
const RATE_LIMIT = 3;
/** Two pages on origins of their own: the first is listed in api.corsOrigin, the second is not. */
const PAGE_PORT = 8080 + OFFSET + 10;
const OTHER_PAGE_PORT = 8080 + OFFSET + 11;
const ALLOWED_ORIGIN = `http://127.0.0.1:${PAGE_PORT}`;
let stack: TestStack;
let base: string;
let nextAddress = 10;
const fresh = () => `127.0.0.${nextAddress++}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID0 = '00000000-0000-4000-8000-000000000000';
const JOB_KEYS = [
  'created_at',
  'exit_code',
  'job_id',
  'language',
  'memory_limit_kb',
  'memory_used_kb',
  'source_code',
  'status',
  'stderr',
  'stdin',
  'stdout',
  'time_limit_ms',
  'time_used_ms',
  'updated_at',
];
const CPP = '#include <iostream>\nint main() { std::cout << "from c++" << std::endl; }\n';

beforeAll(async () => {
  stack = await startStack({
    offset: OFFSET,
    yaml: [
      'worker:',
      '  poolSize: 1',
      'api:',
      `  rateLimit: ${RATE_LIMIT}`,
      `  corsOrigin: "${ALLOWED_ORIGIN}"`,
      '  trustedProxies: ["127.0.0.2"]',
      '  wsPingIntervalMs: 300',
      '',
    ].join('\n'),
  });
  base = stack.urls.apiUrl;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 120_000);

async function until<T>(fn: () => Promise<T | undefined>, pauseMs = 100): Promise<T> {
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

async function finished(jobId: string): Promise<Record<string, unknown>> {
  return until(async () => {
    const r = await request(`${base}/api/v1/submissions/${jobId}`);
    const job = r.json as { status: string };
    return ['QUEUED', 'COMPILING', 'RUNNING'].includes(job.status)
      ? undefined
      : (job as Record<string, unknown>);
  });
}

async function accepted(body: unknown, headers?: Record<string, string>): Promise<string> {
  const r = await postSubmission(base, body, { from: fresh(), headers });
  expect(r.status).toBe(202);
  return (r.json as { job_id: string }).job_id;
}

interface Opened {
  messages: Array<Record<string, unknown>>;
  close: Promise<{ code: number; reason: string }>;
  pings: () => number;
  ws: WebSocket;
}

/** Opens a stream; the promise settles at the handshake (101) or with the refused answer. */
function openStream(
  id: string,
): Promise<Opened | { refused: number; body: unknown; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/submissions/${id}/stream`);
    const messages: Array<Record<string, unknown>> = [];
    let pings = 0;
    ws.on('ping', () => pings++);
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    const close = new Promise<{ code: number; reason: string }>((r) =>
      ws.on('close', (code, reason) => r({ code, reason: String(reason) })),
    );
    ws.on('open', () => resolve({ messages, close, pings: () => pings, ws }));
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () =>
        resolve({ refused: res.statusCode ?? 0, body: JSON.parse(text), headers: res.headers }),
      );
    });
    ws.on('error', (e) => reject(e));
  });
}

interface Row {
  name: string;
  send: () => Promise<Answer>;
  status: number;
  headers?: Record<string, string | RegExp | undefined>;
  body?: (json: unknown, text: string) => void;
}

const get = (p: string, headers?: Record<string, string>) =>
  request(`${base}${p}`, { headers, from: fresh() });
const options = (p: string) =>
  request(`${base}${p}`, {
    method: 'OPTIONS',
    from: fresh(),
    headers: {
      origin: ALLOWED_ORIGIN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-request-id',
    },
  });
const ok = { language: 'python', source_code: 'print(1)' };
const corsOk = {
  'access-control-allow-origin': ALLOWED_ORIGIN,
  'access-control-expose-headers': /X-Request-ID.*X-RateLimit-Limit.*X-RateLimit-Remaining.*Retry-After/,
};

let doneJob = '';
const rows: Row[] = [
  {
    name: 'POST /api/v1/submissions → 202 with the request id and rate-limit headers',
    send: () =>
      postSubmission(base, ok, {
        from: fresh(),
        headers: { 'x-request-id': 'contract-post-1', origin: ALLOWED_ORIGIN },
      }),
    status: 202,
    headers: {
      'x-request-id': 'contract-post-1',
      'x-ratelimit-limit': String(RATE_LIMIT),
      'x-ratelimit-remaining': String(RATE_LIMIT - 1),
      ...corsOk,
    },
    body: (j) => expect(j).toEqual({ job_id: expect.stringMatching(UUID), status: 'QUEUED' }),
  },
  {
    name: 'GET /api/v1/submissions/:id → 200 with every field of the job',
    send: () => get(`/api/v1/submissions/${doneJob}`),
    status: 200,
    headers: { 'x-request-id': UUID, 'access-control-allow-origin': undefined },
    body: (j) => {
      expect(Object.keys(j as object).sort()).toEqual(JOB_KEYS);
      expect(j).toMatchObject({
        job_id: doneJob,
        status: 'SUCCESS',
        stdout: '1\n',
        exit_code: 0,
        stdin: '',
        time_limit_ms: 5000,
        memory_limit_kb: 262_144,
      });
    },
  },
  {
    name: 'GET a job id that is not a UUID → 400',
    send: () => get('/api/v1/submissions/42'),
    status: 400,
    body: (j) => expect(j).toEqual({ error: 'job id must be a UUID' }),
  },
  {
    name: 'GET an unknown job → 404',
    send: () => get(`/api/v1/submissions/${UUID0}`),
    status: 404,
    body: (j) => expect(j).toEqual({ error: `no job ${UUID0}` }),
  },
  {
    name: 'GET the stream without Upgrade → 426',
    send: () => get(`/api/v1/submissions/${doneJob}/stream`),
    status: 426,
    headers: { upgrade: 'websocket' },
    body: (j) => expect(j).toEqual({ error: expect.stringMatching(/WebSocket endpoint/) }),
  },
  {
    name: "GET /api/v1/health → 200, the deployment guide's body",
    send: () => get('/api/v1/health'),
    status: 200,
    body: (j) =>
      expect(j).toEqual({ status: 'ok', services: { postgres: 'ok', rabbitmq: 'ok', redis: 'ok' } }),
  },
  {
    name: "GET /api/v1/languages → the worker's interpreter and compiler versions",
    send: () => get('/api/v1/languages'),
    status: 200,
    body: async (j) => {
      const python = (await execa('/usr/bin/python3', ['--version'])).stdout.replace('Python ', '');
      const gpp = (await execa('/usr/bin/g++', ['-dumpfullversion'])).stdout;
      expect(j).toEqual({
        languages: [
          { name: 'python', version: python },
          { name: 'cpp', version: gpp, compiler: 'g++' },
        ],
      });
    },
  },
  {
    name: 'GET /metrics → Prometheus text',
    send: () => get('/metrics'),
    status: 200,
    headers: { 'content-type': /^text\/plain/ },
    body: (_j, text) =>
      expect(text).toMatch(/^sentinel_api_requests_total\{route="submit",code="202"\} \d+/m),
  },
  {
    name: 'X-Request-ID that is not tame → replaced',
    send: () => get('/api/v1/health', { 'x-request-id': 'a b<script>' }),
    status: 200,
    headers: { 'x-request-id': UUID },
  },
  {
    name: 'origin not listed → no Allow-Origin',
    send: () => get('/api/v1/health', { origin: 'http://evil.example' }),
    status: 200,
    headers: { 'access-control-allow-origin': undefined, vary: 'Origin' },
  },
  ...(
    [
      ['/api/v1/submissions', 'POST, OPTIONS'],
      [`/api/v1/submissions/${UUID0}`, 'GET, HEAD, OPTIONS'],
      [`/api/v1/submissions/${UUID0}/stream`, 'GET, HEAD, OPTIONS'],
      ['/api/v1/health', 'GET, HEAD, OPTIONS'],
      ['/api/v1/languages', 'GET, HEAD, OPTIONS'],
      ['/metrics', 'GET, HEAD, OPTIONS'],
      ['/no/such/route', 'GET, HEAD, POST, OPTIONS'],
    ] as const
  ).map(
    ([p, methods]): Row => ({
      name: `OPTIONS ${p} → 204 preflight`,
      send: () => options(p),
      status: 204,
      headers: {
        ...corsOk,
        'access-control-allow-methods': methods,
        'access-control-allow-headers': 'Content-Type, X-Request-ID',
        'access-control-max-age': '86400',
      },
      body: (_j, text) => expect(text).toBe(''),
    }),
  ),
  {
    name: 'null optional fields are absent: the defaults apply',
    send: () =>
      postSubmission(
        base,
        { ...ok, stdin: null, time_limit_ms: null, memory_limit_kb: null },
        { from: fresh() },
      ),
    status: 202,
    body: async (j) => {
      const job = await finished((j as { job_id: string }).job_id);
      expect(job).toMatchObject({
        stdin: '',
        time_limit_ms: 5000,
        memory_limit_kb: 262_144,
        status: 'SUCCESS',
      });
    },
  },
];

describe('the API contract, route by route', () => {
  beforeAll(async () => {
    doneJob = await accepted(ok);
    await finished(doneJob);
  }, 120_000);

  test.each(rows)(
    '$name',
    async (row) => {
      const r = await row.send();
      expect(r.status).toBe(row.status);
      for (const [k, v] of Object.entries(row.headers ?? {})) {
        if (v === undefined) expect(r.headers[k]).toBeUndefined();
        else expect(r.headers[k]).toEqual(typeof v === 'string' ? v : expect.stringMatching(v));
      }
      await row.body?.(r.json, r.text);
    },
    60_000,
  );

  test('X-Forwarded-For counts only from a trusted proxy', async () => {
    const via = (from: string, xff: string) =>
      postSubmission(base, ok, { from, headers: { 'x-forwarded-for': xff } });
    // Through the trusted proxy 127.0.0.2, two clients have a bucket each.
    const a = [];
    for (let i = 0; i < RATE_LIMIT + 1; i++) a.push((await via('127.0.0.2', '203.0.113.7')).status);
    expect(a).toEqual([...Array(RATE_LIMIT).fill(202), 429]);
    expect((await via('127.0.0.2', '203.0.113.8')).status).toBe(202);
    // The rightmost untrusted hop counts, not a value the client put in front.
    expect((await via('127.0.0.2', '203.0.113.7, 203.0.113.9')).status).toBe(202);
    // From an untrusted peer the header is ignored: the peer's own bucket.
    const untrusted = fresh();
    expect((await via(untrusted, '203.0.113.7')).status).toBe(202);
    const refused = await via('127.0.0.2', '203.0.113.7');
    expect(refused.status).toBe(429);
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  }, 60_000);
});

describe('GET /api/v1/submissions/:id/stream (WebSocket)', () => {
  test('a C++ job: QUEUED → COMPILING → RUNNING → SUCCESS, then close 1000', async () => {
    // The worker is stopped so the stream opens on a job that is still QUEUED.
    expect((await cli(['down', '--services', 'worker', ...stack.args])).exitCode).toBe(0);
    const id = await accepted({ language: 'cpp', source_code: CPP });
    const s = await openStream(id);
    if (!('ws' in s)) throw new Error(`stream refused: ${s.refused}`);
    await until(async () => (s.messages.length ? true : undefined));
    expect((await cli(['up', '--services', 'worker', ...stack.args])).exitCode).toBe(0);
    const closed = await s.close;
    expect(closed).toEqual({ code: 1000, reason: 'terminal status' });
    expect(s.messages.map((m) => m.status)).toEqual(['QUEUED', 'COMPILING', 'RUNNING', 'SUCCESS']);
    for (const m of s.messages) expect(Object.keys(m).sort()).toEqual(JOB_KEYS);
    expect(s.messages.at(-1)).toMatchObject({ job_id: id, stdout: 'from c++\n', exit_code: 0 });
    expect(s.messages[1]).toMatchObject({ stdout: null, exit_code: null });
    expect(s.messages.at(-1)).toEqual(await request(`${base}/api/v1/submissions/${id}`).then((r) => r.json));
  }, 180_000);

  test('a job that has finished: its document once, then close 1000', async () => {
    const s = await openStream(doneJob);
    if (!('ws' in s)) throw new Error(`stream refused: ${s.refused}`);
    expect(await s.close).toEqual({ code: 1000, reason: 'terminal status' });
    expect(s.messages.map((m) => m.status)).toEqual(['SUCCESS']);
  }, 60_000);

  test.each([
    ['not-a-uuid', 400, 'job id must be a UUID'],
    [UUID0, 404, `no job ${UUID0}`],
  ])(
    'id %s → %i before the upgrade',
    async (id, status, error) => {
      const s = await openStream(id);
      expect(s).toMatchObject({ refused: status, body: { error } });
    },
    60_000,
  );

  test('pings keep it alive; a client that leaves early is forgotten and the job still runs', async () => {
    const id = await accepted({
      language: 'python',
      source_code: 'import time\ntime.sleep(2)\nprint("late")',
    });
    const s = await openStream(id);
    if (!('ws' in s)) throw new Error(`stream refused: ${s.refused}`);
    await until(async () => (s.pings() >= 2 ? true : undefined));
    s.ws.terminate();
    await until(async () => {
      const m = await request(`${base}/metrics`);
      return /^sentinel_api_streams_open 0$/m.test(m.text) ? true : undefined;
    });
    expect(await finished(id)).toMatchObject({ status: 'SUCCESS', stdout: 'late\n' });
  }, 120_000);
});

describe('sentinel-ctl submit', () => {
  test.each([
    ['follows the stream', [], true],
    ['--no-stream polls', ['--no-stream'], false],
  ])(
    '%s',
    async (_name, flags, streamed) => {
      const file = path.join(stack.dir, 'hello.py');
      writeFileSync(file, 'print("hello, stream")\n');
      const r = await cliJson<{ job_id: string; status: string; stdout: string }>([
        'submit',
        file,
        '--api-url',
        base,
        ...flags,
      ]);
      expect(r.exitCode).toBe(0);
      // The job is the envelope's result (the envelope's own status is the exit code).
      expect(r.json.status).toBe(0);
      expect(r.json.result).toMatchObject({ status: 'SUCCESS', stdout: 'hello, stream\n' });
      const id = r.json.result.job_id;
      const apiLog = readFileSync(path.join(stack.config.stateDir, 'api', 'api.log'), 'utf8');
      expect(apiLog.includes(`stream of job ${id} opened`)).toBe(streamed);
    },
    60_000,
  );
});

describe('request ids', () => {
  test('one X-Request-ID is in the API log and in the worker log for that job', async () => {
    const rid = `contract-${Date.now()}`;
    const id = await accepted(ok, { 'x-request-id': rid });
    await finished(id);
    const log = (svc: string) => readFileSync(path.join(stack.config.stateDir, svc, `${svc}.log`), 'utf8');
    expect(log('api')).toContain(`api: request ${rid} POST /api/v1/submissions → 202 job ${id}`);
    const line = await until(async () =>
      log('worker')
        .split('\n')
        .find((l) => l.includes(`job ${id}: SUCCESS stored`)),
    );
    expect(line).toMatch(new RegExp(`worker: job ${id}: SUCCESS stored \\(request ${rid}\\)`));
  }, 60_000);
});

describe('CORS from a real browser (headless Chromium)', () => {
  /** A page on its own origin that calls the API with fetch and a WebSocket and posts back what it saw. */
  async function visit(port: number): Promise<Record<string, unknown>> {
    const api = base;
    const page = `<!doctype html><script>
      (async () => {
        const r = {};
        try {
          const res = await fetch(${JSON.stringify(`${api}/api/v1/submissions`)}, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-request-id': 'browser-1' },
            body: JSON.stringify({ language: 'python', source_code: 'print(7)' }),
          });
          r.post = { status: res.status, requestId: res.headers.get('x-request-id'),
                     limit: res.headers.get('x-ratelimit-limit'), body: await res.json() };
          r.ws = await new Promise((resolve) => {
            const ws = new WebSocket(${JSON.stringify(`${api.replace(/^http/, 'ws')}/api/v1/submissions/`)} + r.post.body.job_id + '/stream');
            const statuses = [];
            ws.onmessage = (e) => statuses.push(JSON.parse(e.data).status);
            ws.onclose = (e) => resolve({ statuses, code: e.code });
          });
        } catch (e) { r.error = String(e); }
        await fetch('/result', { method: 'POST', body: JSON.stringify(r) });
      })();
    </script>`;
    let resolveResult: (v: Record<string, unknown>) => void = () => {};
    const result = new Promise<Record<string, unknown>>((r) => (resolveResult = r));
    const server = http.createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/result') {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          res.end('ok');
          resolveResult(JSON.parse(body));
        });
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    const browser = execa(
      '/usr/bin/chromium',
      [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        `--user-data-dir=${path.join(stack.dir, `chromium-${port}`)}`,
        `http://127.0.0.1:${port}/`,
      ],
      { reject: false, stdin: 'ignore' },
    );
    try {
      return await result;
    } finally {
      browser.kill('SIGKILL');
      await browser;
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }

  test('from the listed origin: preflighted POST, exposed headers, WebSocket stream', async () => {
    const r = await visit(PAGE_PORT);
    expect(r).toEqual({
      post: {
        status: 202,
        requestId: 'browser-1',
        limit: String(RATE_LIMIT),
        body: { job_id: expect.stringMatching(UUID), status: 'QUEUED' },
      },
      ws: { statuses: expect.arrayContaining(['SUCCESS']), code: 1000 },
    });
  }, 120_000);

  test('from an origin that is not listed: the browser blocks the call', async () => {
    const r = await visit(OTHER_PAGE_PORT);
    expect(r).toEqual({ error: expect.stringMatching(/TypeError: Failed to fetch/) });
  }, 120_000);
});
