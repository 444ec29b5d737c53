import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { histogramBuckets, parseMetrics, sumBy } from '../../../src/clients/prometheus.js';
import { managementRequest, vhostOf } from '../../../src/clients/rabbitmq-management.js';
import { parseKeyValues, parseMeminfo, parseProcStat } from '../../../src/diagnose/collectors/host.js';
import { redactSql } from '../../../src/diagnose/collectors/postgres.js';
import { queueFacts } from '../../../src/diagnose/collectors/rabbitmq.js';
import { parseRedisInfo } from '../../../src/diagnose/collectors/redis.js';
import { WorkerCollector } from '../../../src/diagnose/collectors/worker.js';
import { backlogSince } from '../../../src/diagnose/rules/rabbitmq.js';
import { poolMaxConnsOf } from '../../../src/diagnose/session.js';
import { diagnoseSources } from '../../../src/diagnose/sources.js';
import { expectSectionExists } from '../../helpers/guides.js';
import { queue } from './fixtures.js';

describe('the worker collector against a real prom-client registry over HTTP', () => {
  const registry = new Registry();
  const executions = new Counter({
    name: 'sentinel_executions_total',
    help: 'x',
    labelNames: ['language', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'sentinel_execution_duration_seconds',
    help: 'x',
    labelNames: ['language'],
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const active = new Gauge({ name: 'sentinel_workers_active', help: 'x', registers: [registry] });
  const pool = new Gauge({ name: 'sentinel_worker_pool_size', help: 'x', registers: [registry] });
  const running = new Gauge({ name: 'sentinel_executions_in_progress', help: 'x', registers: [registry] });
  const sandbox = new Counter({ name: 'sentinel_sandbox_failures_total', help: 'x', registers: [registry] });
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    server = http.createServer(async (_req, res) => {
      res.setHeader('content-type', registry.contentType);
      res.end(await registry.metrics());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('executions, percentiles from the window, workers and sandbox failures', async () => {
    active.set(3);
    pool.set(4);
    running.set(2);
    executions.inc({ language: 'python', status: 'SUCCESS' }, 5);
    duration.observe({ language: 'cpp' }, 0.9);
    const c = new WorkerCollector(url);
    const first = await c.sample(2000);
    // Between the samples: 10 fast python runs, 10 slower cpp runs, 2 failures, 1 sandbox failure.
    for (let i = 0; i < 10; i++) duration.observe({ language: 'python' }, 0.02);
    for (let i = 0; i < 10; i++) duration.observe({ language: 'cpp' }, 0.3);
    executions.inc({ language: 'python', status: 'SUCCESS' }, 18);
    executions.inc({ language: 'cpp', status: 'RUNTIME_ERROR' }, 2);
    sandbox.inc();
    const second = await c.sample(2000);
    const { facts } = c.derive(first, second);
    expect(facts.executionsByStatus).toEqual({ SUCCESS: 23, RUNTIME_ERROR: 2 });
    expect(facts.executionsInWindow).toEqual({ SUCCESS: 18, RUNTIME_ERROR: 2 });
    // Window buckets: 10 ≤ 25 ms, 10 in (250, 500] ms → p50 25, p95 475, p99 495 (linear inside the bucket).
    expect(facts.duration).toEqual({ count: 20, p50Ms: 25, p95Ms: 475, p99Ms: 495, over: 'window' });
    expect(facts.durationByLanguage.python).toEqual({
      count: 10,
      p50Ms: 12.5,
      p95Ms: 23.8,
      p99Ms: 24.8,
      over: 'window',
    });
    expect(facts.durationByLanguage.cpp?.count).toBe(10);
    expect([facts.workersActive, facts.poolSize, facts.inProgress]).toEqual([3, 4, 2]);
    expect([facts.sandboxFailures, facts.sandboxFailuresInWindow]).toEqual([1, 1]);
    // One sample alone: lifetime percentiles, no window counts.
    const alone = c.derive(undefined, second).facts;
    expect(alone.duration.over).toBe('lifetime');
    expect(alone.duration.count).toBe(21);
    expect(alone.executionsInWindow).toBeNull();
  });

  test('a metrics endpoint that is down rejects with the socket error', async () => {
    const c = new WorkerCollector('http://127.0.0.1:1/metrics');
    await expect(c.sample(1000)).rejects.toThrow();
  });
});

describe('Prometheus text', () => {
  test('labelled histograms keep one series per label set; NaN, Inf and escapes parse', () => {
    const text = [
      '# HELP d x',
      '# TYPE d histogram',
      'd_bucket{le="0.1",language="python"} 1',
      'd_bucket{le="+Inf",language="python"} 2',
      'd_sum{language="python"} 0.3',
      'd_count{language="python"} 2',
      'd_bucket{le="0.1",language="cpp"} 0',
      'd_bucket{le="+Inf",language="cpp"} 3',
      'd_sum{language="cpp"} 9',
      'd_count{language="cpp"} 3',
      '# TYPE lag gauge',
      'lag Nan',
      'neg -Inf',
      'esc{path="C:\\\\DIR",msg="say \\"hi\\""} 4',
    ].join('\n');
    const m = parseMetrics(text);
    expect(m.types.get('d')).toBe('histogram');
    expect(histogramBuckets(m, 'd')).toEqual([
      { leMs: 100, count: 1 },
      { leMs: Number.POSITIVE_INFINITY, count: 5 },
    ]);
    expect(histogramBuckets(m, 'd', { language: 'cpp' })).toEqual([
      { leMs: 100, count: 0 },
      { leMs: Number.POSITIVE_INFINITY, count: 3 },
    ]);
    expect(sumBy(m, 'd_count', 'language')).toEqual({ python: 2, cpp: 3 });
    expect(Number.isNaN(m.samples.find((s) => s.name === 'lag')?.value)).toBe(true);
    expect(m.samples.find((s) => s.name === 'neg')?.value).toBe(Number.NEGATIVE_INFINITY);
    expect(m.samples.find((s) => s.name === 'esc')?.labels).toEqual({ path: 'C:\\DIR', msg: 'say "hi"' });
  });
});

describe('parsers of the other collectors', () => {
  test('Redis INFO', () => {
    const info = parseRedisInfo(
      '# Memory\r\nused_memory:1024\r\nmaxmemory_policy:allkeys-lru\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n',
    );
    expect(info).toEqual({
      used_memory: '1024',
      maxmemory_policy: 'allkeys-lru',
      db0: 'keys=3,expires=1,avg_ttl=0',
    });
  });

  test('/proc/stat, /proc/meminfo and key-value files', () => {
    expect(parseProcStat('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n')).toEqual({
      busy: 150,
      total: 1000,
    });
    expect(parseMeminfo('MemTotal:       1000 kB\nMemAvailable:    250 kB\n')).toEqual({
      MemTotal: 1_024_000,
      MemAvailable: 256_000,
    });
    expect(parseKeyValues('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n')).toEqual({
      oom_kill_disable: 0,
      under_oom: 0,
      oom_kill: 3,
    });
  });

  test('management API requests carry credentials as a header, never in the URL', () => {
    expect(managementRequest('http://sentinel:p%40ss@127.0.0.1:15672/')).toEqual({
      base: 'http://127.0.0.1:15672',
      headers: {
        accept: 'application/json',
        authorization: `Basic ${Buffer.from('sentinel:p@ss').toString('base64')}`,
      },
    });
    expect(vhostOf('amqp://u:p@h:5672/%2F')).toBe('/');
    expect(vhostOf('amqp://u:p@h:5672/prod')).toBe('prod');
    expect(vhostOf('amqp://u:p@h:5672')).toBe('/');
  });

  test('a management API queue object', () => {
    const q = queueFacts({
      name: 'execution_tasks',
      type: 'quorum',
      messages: 12,
      messages_ready: 10,
      messages_unacknowledged: 2,
      consumers: 2,
      consumer_utilisation: 0.25,
      message_stats: {
        publish_details: { rate: 4.567 },
        deliver_get_details: { rate: 2 },
        ack_details: { rate: 1.5 },
      },
      messages_details: {
        rate: 2.5,
        samples: [
          { sample: 12, timestamp: 2000 },
          { sample: 2, timestamp: 1000 },
        ],
      },
    });
    expect(q).toEqual({
      name: 'execution_tasks',
      type: 'quorum',
      messages: 12,
      ready: 10,
      unacked: 2,
      consumers: 2,
      consumerUtilisation: 0.25,
      publishRate: 4.57,
      deliverRate: 2,
      ackRate: 1.5,
      depthRate: 2.5,
      depthSamples: [
        { at: 1000, messages: 2 },
        { at: 2000, messages: 12 },
      ],
    });
  });

  test.each([
    ['no samples, first seen at 100', [], 100, 500, 100],
    [
      'samples above since 50',
      [
        [40, 900],
        [50, 1001],
        [60, 2000],
      ],
      100,
      500,
      50,
    ],
    [
      'a dip below breaks the run',
      [
        [40, 2000],
        [50, 900],
        [60, 2000],
      ],
      undefined,
      500,
      60,
    ],
    ['all samples below: now', [[40, 10]], undefined, 500, 500],
  ] as Array<[string, Array<[number, number]>, number | undefined, number, number]>)(
    'backlog start: %s',
    (_n, samples, firstSeen, now, expected) => {
      const q = queue({ messages: 2000, depthSamples: samples.map(([at, messages]) => ({ at, messages })) });
      expect(backlogSince(q, firstSeen, now)).toBe(expected);
    },
  );

  test.each([
    [
      "ALTER ROLE \"sentinel\" LOGIN PASSWORD 'it''s-secret'",
      'ALTER ROLE "sentinel" LOGIN PASSWORD \'****\'',
    ],
    ["create role x password E'a\\b' login", "create role x password '****' login"],
    ['ALTER ROLE x PASSWORD $pw$secret$pw$', "ALTER ROLE x PASSWORD '****'"],
    ['SELECT 1', 'SELECT 1'],
  ])('query text shown without passwords: %s', (query, shown) => {
    expect(redactSql(query)).toBe(shown);
  });

  test('pool_max_conns from a DATABASE_URL', () => {
    expect(poolMaxConnsOf('postgres://u:p@h/db?sslmode=disable&pool_max_conns=20&pool_min_conns=5')).toBe(20);
    expect(poolMaxConnsOf('postgres://u:p@h/db')).toBeUndefined();
  });
});

describe('every section a diagnose rule cites exists in its guide, in order', () => {
  test.each(Object.entries(diagnoseSources))('%s', (_key, source) => {
    expectSectionExists(source);
  });
});
