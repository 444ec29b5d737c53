import http from 'node:http';
import amqp from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiServer } from '../../../src/api/server.js';
import type { Job } from '../../../src/jobs/repository.js';
import { pgClientUrl } from '../../../src/services/endpoints.js';
import { cli, cliJson } from '../../helpers/cli.js';
import { testOffset } from '../../helpers/ports.js';
import { servicePid, startStack, type TestStack } from '../../helpers/stack.js';

// Ports: defaults + 12000. Pool of 2 workers on a 2-core machine.
const OFFSET = testOffset('pipeline');
let stack: TestStack;

/** POST a submission; `from` picks the client address (the rate limit is per IP). */
function post(
  body: unknown,
  base = stack.urls.apiUrl,
  from = '127.0.0.1',
): Promise<{ status: number; json: Record<string, unknown> }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}/api/v1/submissions`,
      {
        method: 'POST',
        localAddress: from,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

async function waitHealthy(base = stack.urls.apiUrl, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/api/v1/health`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`API at ${base} not healthy after ${timeoutMs} ms`);
}

async function submit(
  language: 'python' | 'cpp',
  source: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const r = await post({ language, source_code: source, ...extra });
  expect(r.status).toBe(202);
  expect(r.json.status).toBe('QUEUED');
  return r.json.job_id as string;
}

async function waitTerminal(id: string, timeoutMs = 90_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${stack.urls.apiUrl}/api/v1/submissions/${id}`).catch(() => undefined);
    if (res?.status === 200) {
      const job = (await res.json()) as Job;
      if (!['QUEUED', 'COMPILING', 'RUNNING'].includes(job.status)) return job;
    }
    if (Date.now() > deadline) throw new Error(`job ${id} not terminal after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const run = async (language: 'python' | 'cpp', source: string, extra: Record<string, unknown> = {}) =>
  waitTerminal(await submit(language, source, extra));

async function metric(name: string): Promise<number> {
  const text = await (await fetch(stack.urls.workerMetricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return text
    .split('\n')
    .filter(
      (l) => l.startsWith(name) && !l.startsWith('#') && (l[name.length] === ' ' || l[name.length] === '{'),
    )
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), line ? 0 : 0);
}

beforeAll(async () => {
  stack = await startStack({ offset: OFFSET, yaml: 'worker:\n  poolSize: 2\napi:\n  rateLimit: 100000\n' });
});

afterAll(async () => {
  await stack?.stop();
});

describe('programs through API → RabbitMQ → worker → PostgreSQL', () => {
  test('Python hello world', async () => {
    const job = await run('python', 'print("hello, world")');
    expect(job).toMatchObject({
      status: 'SUCCESS',
      stdout: 'hello, world\n',
      exit_code: 0,
      language: 'python',
    });
    expect(job.time_used_ms).toBeGreaterThan(0);
    expect(job.memory_used_kb).toBeGreaterThan(0);
  });

  test('C++ hello world', async () => {
    const job = await run('cpp', '#include <cstdio>\nint main(){ std::puts("hello from c++"); }');
    expect(job).toMatchObject({ status: 'SUCCESS', stdout: 'hello from c++\n', exit_code: 0 });
  });

  test('stdin is passed through', async () => {
    const job = await run('python', 'import sys\nprint(sys.stdin.read().strip()[::-1])', {
      stdin: 'sentinel\n',
    });
    expect(job).toMatchObject({ status: 'SUCCESS', stdout: 'lenitnes\n' });
  });

  test('compile error', async () => {
    const job = await run('cpp', 'int main() { return undefined_name; }');
    expect(job.status).toBe('COMPILATION_ERROR');
    expect(job.stderr).toContain('undefined_name');
  });

  test('runtime error keeps the exit code', async () => {
    expect(await run('python', 'import sys\nsys.exit(3)')).toMatchObject({
      status: 'RUNTIME_ERROR',
      exit_code: 3,
    });
    expect(await run('cpp', 'int main(){ return 7; }')).toMatchObject({
      status: 'RUNTIME_ERROR',
      exit_code: 7,
    });
  });

  test('an infinite loop → TIMEOUT at the job limit', async () => {
    const job = await run('python', 'while True:\n    pass', { time_limit_ms: 1000 });
    expect(job.status).toBe('TIMEOUT');
    expect(job.time_used_ms).toBeGreaterThanOrEqual(1000);
    // The job's own limit fired, not the guide's 10 s (no wall-clock bound on a shared machine).
    expect(job.stderr).toContain('wall-clock limit of 1000 ms reached');
  });

  test('a 1 GB allocation → MEMORY_LIMIT_EXCEEDED', async () => {
    const job = await run('python', 'b = bytearray(1 << 30)\nprint(len(b))');
    expect(job.status).toBe('MEMORY_LIMIT_EXCEEDED');
  });

  test('WORKER_POOL_SIZE (2) jobs really run at once', async () => {
    const program = 'import time\nprint(time.time())\ntime.sleep(1.5)\nprint(time.time())';
    const ids = await Promise.all([submit('python', program), submit('python', program)]);
    const jobs = await Promise.all(ids.map((id) => waitTerminal(id)));
    const [a, b] = jobs.map((j) => j.stdout!.trim().split('\n').map(Number)) as [number[], number[]];
    // Overlap: each started before the other finished.
    expect(a[0]!).toBeLessThan(b[1]!);
    expect(b[0]!).toBeLessThan(a[1]!);
  });
});

describe('delivery guarantees', () => {
  test('the same job delivered twice runs once', async () => {
    const db = new pg.Client({ connectionString: pgClientUrl(stack.urls.databaseUrl) });
    await db.connect();
    const conn = await amqp.connect(stack.urls.rabbitmqUrl);
    try {
      const { rows } = await db.query<{ id: string }>('SELECT gen_random_uuid()::text AS id');
      const id = rows[0]!.id;
      const message = Buffer.from(
        JSON.stringify({
          job_id: id,
          language: 'python',
          source_code: 'import time, random\ntime.sleep(1)\nprint(random.random())',
          stdin: '',
        }),
      );
      const before = {
        runs: await metric('sentinel_executions_total'),
        dups: await metric('sentinel_duplicate_deliveries_total'),
      };
      const ch = await conn.createConfirmChannel();
      ch.sendToQueue('execution_tasks', message, { persistent: true });
      ch.sendToQueue('execution_tasks', message, { persistent: true });
      await ch.waitForConfirms();
      const job = await waitTerminal(id);
      expect(job.status).toBe('SUCCESS');
      const deadline = Date.now() + 30_000;
      while (
        (await metric('sentinel_duplicate_deliveries_total')) < before.dups + 1 &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await metric('sentinel_executions_total')).toBe(before.runs + 1);
      expect(await metric('sentinel_duplicate_deliveries_total')).toBe(before.dups + 1);
      expect((await waitTerminal(id)).stdout).toBe(job.stdout);
    } finally {
      await conn.close();
      await db.end();
    }
  });

  test('a message that cannot be processed goes to the dead-letter queue, not round and round', async () => {
    const conn = await amqp.connect(stack.urls.rabbitmqUrl);
    try {
      const ch = await conn.createConfirmChannel();
      const dlqBefore = (await ch.checkQueue('execution_tasks.dlq')).messageCount;
      ch.sendToQueue('execution_tasks', Buffer.from('{not json'), { persistent: true });
      ch.sendToQueue(
        'execution_tasks',
        Buffer.from(
          JSON.stringify({
            job_id: '00000000-0000-4000-8000-000000000001',
            language: 'ruby',
            source_code: 'puts 1',
          }),
        ),
        { persistent: true },
      );
      await ch.waitForConfirms();
      const deadline = Date.now() + 20_000;
      let dlq = dlqBefore;
      while (dlq < dlqBefore + 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        dlq = (await ch.checkQueue('execution_tasks.dlq')).messageCount;
      }
      expect(dlq).toBe(dlqBefore + 2);
      expect((await ch.checkQueue('execution_tasks')).messageCount).toBe(0);
    } finally {
      await conn.close();
    }
  });

  test('worker killed with SIGKILL mid-batch → after restart every job reaches a terminal state', async () => {
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => submit('python', `import time\ntime.sleep(0.8)\nprint(${i})`)),
    );
    await new Promise((r) => setTimeout(r, 1200));
    process.kill(servicePid(stack, 'worker'), 'SIGKILL');
    const restarted = await cli(['up', '--services', 'worker', ...stack.args]);
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    expect(restarted.stderr).toContain('worker: removing a stale pid file');
    const jobs = await Promise.all(ids.map((id) => waitTerminal(id, 120_000)));
    expect(jobs.map((j) => [j.status, j.stdout])).toEqual(ids.map((_, i) => ['SUCCESS', `${i}\n`]));
  });

  test('RabbitMQ restarted during a batch → the worker reconnects, no job lost', async () => {
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => submit('python', `import time\ntime.sleep(0.5)\nprint(${i * i})`)),
    );
    const down = await cliJson(['down', '--services', 'rabbitmq', ...stack.args]);
    expect(down.exitCode).toBe(0);
    const up = await cli(['up', '--services', 'rabbitmq', ...stack.args]);
    expect(up.exitCode, up.stderr).toBe(0);
    const jobs = await Promise.all(ids.map((id) => waitTerminal(id, 120_000)));
    expect(jobs.map((j) => [j.status, j.stdout])).toEqual(ids.map((_, i) => ['SUCCESS', `${i * i}\n`]));
    // The API reconnects too (with backoff): healthy again, a new submission is accepted and runs.
    await waitHealthy();
    const after = await run('python', 'print("after restart")');
    expect(after.stdout).toBe('after restart\n');
  });
});

describe('API contract', () => {
  test.each([
    ['not JSON', '{nope', 400, 'request body is not valid JSON'],
    ['missing language', { source_code: 'print(1)' }, 400, 'language must be "python" or "cpp"'],
    [
      'unknown language',
      { language: 'ruby', source_code: 'puts 1' },
      400,
      'language must be "python" or "cpp"',
    ],
    ['empty source', { language: 'python', source_code: '' }, 400, 'source_code is empty or only whitespace'],
    [
      'time limit too high',
      { language: 'python', source_code: 'print(1)', time_limit_ms: 20_000 },
      400,
      'time_limit_ms must be at most 10000',
    ],
    [
      'source over 64 KB',
      { language: 'python', source_code: `#${'x'.repeat(64 * 1024)}` },
      413,
      'source_code is larger than 64 KB',
    ],
  ])('%s → %d', async (_name, body, status, error) => {
    const r = await post(body);
    expect(r.status).toBe(status);
    expect(r.json.error).toBe(error);
  });

  test('GET unknown id → 404, malformed id → 400', async () => {
    const unknown = await fetch(
      `${stack.urls.apiUrl}/api/v1/submissions/00000000-0000-4000-8000-00000000abcd`,
    );
    expect(unknown.status).toBe(404);
    const bad = await fetch(`${stack.urls.apiUrl}/api/v1/submissions/not-a-uuid`);
    expect(bad.status).toBe(400);
  });

  test('health reports every service', async () => {
    const res = await fetch(`${stack.urls.apiUrl}/api/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      services: { postgres: 'ok', rabbitmq: 'ok', redis: 'ok' },
    });
  });

  function apiOn(port: number, overrides: { rabbitmqUrl?: string; rateLimitPerMinute?: number }): ApiServer {
    return new ApiServer({
      port,
      host: '127.0.0.1',
      databaseUrl: stack.urls.databaseUrl,
      rabbitmqUrl: overrides.rabbitmqUrl ?? stack.urls.rabbitmqUrl,
      redisUrl: stack.urls.redisUrl,
      poolMaxConns: 2,
      rateLimitPerMinute: overrides.rateLimitPerMinute ?? 1000,
      readTimeoutMs: 10_000,
      writeTimeoutMs: 30_000,
      deliveryLimit: stack.config.rabbitmq.deliveryLimit,
      defaults: { timeLimitMs: 5000, memoryLimitKb: 262_144 },
      log: () => {},
    });
  }

  test('over API_RATE_LIMIT per minute → 429 with Retry-After', async () => {
    const api = apiOn(8080 + OFFSET + 50, { rateLimitPerMinute: 2 });
    await api.start();
    try {
      await waitHealthy(`http://127.0.0.1:${8080 + OFFSET + 50}`);
      const base = `http://127.0.0.1:${8080 + OFFSET + 50}`;
      const codes: number[] = [];
      // A client address of its own, so earlier tests' submissions from 127.0.0.1 do not count.
      for (let i = 0; i < 3; i++)
        codes.push((await post({ language: 'python', source_code: 'print(1)' }, base, '127.0.0.77')).status);
      expect(codes).toEqual([202, 202, 429]);
    } finally {
      await api.stop();
    }
  });

  test('queue unreachable → 503 and no row left QUEUED', async () => {
    const api = apiOn(8080 + OFFSET + 51, { rabbitmqUrl: 'amqp://nobody:x@127.0.0.1:1/%2F' });
    await api.start();
    const db = new pg.Client({ connectionString: pgClientUrl(stack.urls.databaseUrl) });
    await db.connect();
    try {
      const count = async () => Number((await db.query('SELECT count(*) FROM execution_jobs')).rows[0].count);
      const before = await count();
      const r = await post(
        { language: 'python', source_code: 'print(1)' },
        `http://127.0.0.1:${8080 + OFFSET + 51}`,
      );
      expect(r.status).toBe(503);
      expect(String(r.json.error)).toMatch(/^queue unavailable/);
      expect(await count()).toBe(before);
    } finally {
      await db.end();
      await api.stop();
    }
  });
});
