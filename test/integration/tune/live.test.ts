import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { Gauge, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { managementRequest } from '../../../src/clients/rabbitmq-management.js';
import type { FactRow } from '../../../src/facts/book.js';
import type { TuneCheckResult } from '../../../src/tune-command/topic-check.js';
import type { TuneResult } from '../../../src/tune-command/types.js';
import { cliJson } from '../../helpers/cli.js';
import { testOffset } from '../../helpers/ports.js';
import { startStack, type TestStack } from '../../helpers/stack.js';

/**
 * Live facts from the real local stack: PostgreSQL settings, the task queue from RabbitMQ's
 * management API, Redis keys with MEMORY USAGE, and a worker histogram served by prom-client (the
 * library the worker itself exports /metrics with).
 */
const OFFSET = testOffset('tuneLive');
const KEYS = 300;
const MESSAGES = 7;

let stack: TestStack;
let metrics: Server;
let metricsUrl: string;
let expectedBytesPerKey: number;

async function serveWorkerMetrics(): Promise<void> {
  const registry = new Registry();
  const duration = new Histogram({
    name: 'sentinel_execution_duration_seconds',
    help: 'Execution duration',
    labelNames: ['language'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // 90 quick Python prints and 10 slow C++ compiles: p50 in (0.1, 0.25], p99 in (5, 10].
  for (let i = 0; i < 90; i++) duration.observe({ language: 'python' }, 0.15);
  for (let i = 0; i < 10; i++) duration.observe({ language: 'cpp' }, 8);
  new Gauge({ name: 'sentinel_worker_pool_size', help: 'Pool', registers: [registry] }).set(3);
  metrics = createServer(async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.end(await registry.metrics());
  });
  await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
  metricsUrl = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}/metrics`;
}

async function fillRedis(url: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const p = redis.pipeline();
    for (let i = 0; i < KEYS; i++) {
      // Idempotency locks and rate-limit windows, as Sentinel writes them.
      if (i % 3 === 0) p.zadd(`ratelimit:10.0.${i % 250}.${i}`, Date.now(), `req-${i}`);
      else p.set(`lock:job:${i.toString(16).padStart(32, '0')}`, 'worker-1', 'EX', 300);
    }
    await p.exec();
    let sum = 0;
    for (const key of await redis.keys('*'))
      sum += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    expectedBytesPerKey = Math.ceil(sum / KEYS);
  } finally {
    redis.disconnect();
  }
}

async function fillQueue(amqpUrl: string, managementUrl: string): Promise<void> {
  const conn = await amqp.connect(amqpUrl);
  try {
    const ch = await conn.createConfirmChannel();
    for (let i = 0; i < MESSAGES; i++)
      ch.sendToQueue('execution_tasks', Buffer.from(JSON.stringify({ job_id: `j${i}` })));
    await ch.waitForConfirms();
    await ch.close();
  } finally {
    await conn.close();
  }
  // The management API refreshes queue statistics every few seconds: wait (bounded) until it shows them.
  const { base, headers } = managementRequest(managementUrl);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/api/queues/%2F/execution_tasks`, { headers });
    const q = (await res.json()) as { messages_ready?: number };
    if (q.messages_ready === MESSAGES) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the management API never showed the published messages');
}

beforeAll(async () => {
  stack = await startStack({
    offset: OFFSET,
    services: ['postgres', 'rabbitmq', 'redis'],
    yaml: 'postgres:\n  maxConnections: 123\n  superuserReservedConnections: 4\nredis:\n  maxmemory: 64mb\n',
  });
  await Promise.all([
    serveWorkerMetrics(),
    fillRedis(stack.urls.redisUrl),
    fillQueue(stack.urls.rabbitmqUrl, stack.urls.rabbitmqManagementUrl),
  ]);
});

afterAll(async () => {
  await new Promise((r) => metrics?.close(r));
  await stack?.stop();
});

const used = (facts: FactRow[], name: string) => facts.find((f) => f.name === name && f.used);

describe('tune --live against the real local stack (built binary)', () => {
  test('PostgreSQL: SHOW max_connections and superuser_reserved_connections', async () => {
    const r = await cliJson<TuneResult>([
      'tune',
      'pool',
      '--live',
      '--cpus',
      '4',
      '--memory',
      '8Gi',
      ...stack.args,
    ]);
    expect(r.exitCode).toBe(0);
    expect(used(r.json.result.facts, 'postgres.maxConnections')).toMatchObject({
      value: '123',
      from: 'live',
    });
    expect(used(r.json.result.facts, 'postgres.maxConnections')?.detail).toMatch(
      new RegExp(
        `^postgres://sentinel:\\*\\*\\*\\*@127\\.0\\.0\\.1:${5432 + OFFSET}/sentinel.* SHOW max_connections$`,
      ),
    );
    expect(used(r.json.result.facts, 'postgres.superuserReservedConnections')).toMatchObject({
      value: '4',
      from: 'live',
    });
    const row = r.json.result.rows.find((x) => x.setting === 'max_connections');
    expect(row?.current).toBe('123');
    // No worker is running on this stack's metrics port: a note, not a failure.
    expect(
      r.json.result.notes.some((n) =>
        n.startsWith(`live worker /metrics (http://127.0.0.1:${9090 + OFFSET}/metrics): `),
      ),
    ).toBe(true);
    expect(r.stdout).not.toContain(stack.config.credentials.postgres.password);
  });

  test('worker /metrics: p50 and p99 from the duration histogram (prom-client exposition)', async () => {
    const r = await cliJson<TuneResult>(['tune', 'prefetch', '--live', ...stack.args], {
      env: { WORKER_METRICS_URL: metricsUrl },
    });
    expect(r.exitCode).toBe(0);
    // p50: 100 + 150 × 50/90 ms; p99: 5000 + 5000 × 9/10 ms (linear inside the bucket, as histogram_quantile).
    expect(used(r.json.result.facts, 'execution')).toMatchObject({
      value: 'p50 183.333 ms, p99 9500 ms over 100 executions',
      from: 'live',
    });
    expect(used(r.json.result.facts, 'worker.poolSize')).toMatchObject({ value: '3', from: 'live' });
    expect(r.json.result.rows[0]).toMatchObject({
      setting: 'WORKER_PREFETCH',
      recommended: '1',
      reason: 'p50 183.333 ms, p99 9500 ms (p99/p50 51.818): execution times vary (p99 > 2 × p50) → 1',
    });
  });

  test('Redis: DBSIZE and bytes per key measured with MEMORY USAGE', async () => {
    const r = await cliJson<TuneResult>(['tune', 'redis', '--live', ...stack.args]);
    expect(r.exitCode).toBe(0);
    const f = r.json.result.facts;
    expect(used(f, 'redis.keys')).toMatchObject({ value: String(KEYS), from: 'live' });
    expect(used(f, 'redis.bytesPerKey')).toMatchObject({
      value: `${expectedBytesPerKey} B`,
      from: 'live',
      detail: expect.stringMatching(/ MEMORY USAGE over 300 sampled keys$/),
    });
    expect(used(f, 'redis.maxmemoryBytes')).toMatchObject({
      value: `${64 * 1024 ** 2} bytes (64mb)`,
      from: 'live',
    });
    const row = r.json.result.rows.find((x) => x.setting === 'maxmemory');
    expect(row).toMatchObject({ current: '64mb', recommended: '128mb', basis: 'measured' });
    expect(row?.reason).toBe(
      `max(128mb guide default, ceil(${KEYS} keys × ${expectedBytesPerKey} B (measured) / 0.75 target) = 1mb) = 128mb`,
    );
  });

  test('RabbitMQ: the task queue from the management API; tune check over the live facts', async () => {
    const r = await cliJson<TuneCheckResult>(
      ['tune', 'check', '--live', '--cpus', '4', '--memory', '8Gi', ...stack.args],
      {
        env: { WORKER_METRICS_URL: metricsUrl },
      },
    );
    expect(r.exitCode).toBe(0);
    const f = r.json.result.facts;
    expect(used(f, 'rabbitmq.queue.execution_tasks')).toMatchObject({
      value: `${MESSAGES} ready, 0 unacknowledged, 0 consumers`,
      from: 'live',
    });
    expect(used(f, 'rabbitmq.diskFreeLimitBytes')).toMatchObject({
      value: '1000000000 bytes (1GB)',
      from: 'live',
    });
    // The local stack's own settings (api.replicas, its DATABASE_URL pool, prefetch, consumer_timeout)
    // join the live readings, so the cross-component checks run.
    expect(used(f, 'api.poolMaxConns')).toMatchObject({ value: '10', from: 'live' });
    expect(used(f, 'worker.poolSize')).toMatchObject({ value: '3', from: 'live' });
    expect(r.json.result.passed).toEqual(
      expect.arrayContaining([
        'pools-vs-max-connections',
        'prefetch-vs-consumer-timeout',
        'write-timeout-vs-stream',
        'redis',
      ]),
    );
    expect(r.json.result.findings).toEqual([]);
  });
});
