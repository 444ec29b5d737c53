/**
 * `diagnose` against a real local stack (PostgreSQL, RabbitMQ, Redis started by `up`), provoking
 * each condition for real: a backlog with no consumer, connections held near max_connections, a
 * session left idle in transaction, Redis filled past a tiny maxmemory, components down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { DiagnoseReport } from '../../../src/diagnose/types.js';
import { cli, cliJson, cliProcess } from '../../helpers/cli.js';
import { findingById } from '../../helpers/diagnose.js';
import { testOffset } from '../../helpers/ports.js';
import { stackSecrets, startStack, type TestStack } from '../../helpers/stack.js';

// Ports: defaults + 14000 (19432, 19672, 29672, 20379): this suite's own range.
const OFFSET = testOffset('diagnose');
// A small max_connections so "near max_connections" takes a dozen connections; a tiny Redis.
const YAML = 'postgres:\n  maxConnections: 20\nredis:\n  maxmemory: 2mb\n  maxmemoryPolicy: allkeys-lru\n';
let stack: TestStack;
let common: string[] = [];
const PORTS = {
  postgres: 5432 + OFFSET,
  amqp: 5672 + OFFSET,
  management: 15672 + OFFSET,
  redis: 6379 + OFFSET,
};

const BACKLOG = 1500;
const HELD = 13; // idle connections, plus one idle in transaction = 14 of 20 − 3 reserved = 17 usable
let secrets: { postgres: string; rabbitmq: string; redis: string };
const held: pg.Client[] = [];
let leaked: pg.Client;
let leakedPid: number;

const urls = () => ({
  DATABASE_URL: `postgres://sentinel:${encodeURIComponent(secrets.postgres)}@127.0.0.1:${PORTS.postgres}/sentinel?sslmode=disable&pool_max_conns=10`,
  RABBITMQ_URL: `amqp://sentinel:${encodeURIComponent(secrets.rabbitmq)}@127.0.0.1:${PORTS.amqp}/%2F`,
  RABBITMQ_MANAGEMENT_URL: `http://sentinel:${encodeURIComponent(secrets.rabbitmq)}@127.0.0.1:${PORTS.management}`,
  REDIS_URL: `redis://:${encodeURIComponent(secrets.redis)}@127.0.0.1:${PORTS.redis}/0`,
});

const byId = findingById;

async function managementDepth(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${PORTS.management}/api/queues/%2F/execution_tasks`, {
    headers: { authorization: `Basic ${Buffer.from(`sentinel:${secrets.rabbitmq}`).toString('base64')}` },
  });
  return ((await res.json()) as { messages?: number }).messages ?? 0;
}

describe('diagnose against the real local stack', () => {
  beforeAll(async () => {
    stack = await startStack({ offset: OFFSET, yaml: YAML, services: ['postgres', 'rabbitmq', 'redis'] });
    common = stack.args;
    secrets = stackSecrets(stack);
    const connect = async () => {
      const c = new pg.Client({ connectionString: urls().DATABASE_URL.replace(/&pool_max_conns=\d+/, '') });
      await c.connect();
      return c;
    };
    // A transaction opened and left waiting: the connection leak of SARK's troubleshooting.
    leaked = await connect();
    await leaked.query('BEGIN');
    await leaked.query("SELECT 'left open' AS marker");
    leakedPid = (await leaked.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    for (let i = 0; i < HELD; i++) held.push(await connect());
    // Jobs published while no worker runs.
    const conn = await amqp.connect(urls().RABBITMQ_URL);
    const ch = await conn.createConfirmChannel();
    for (let i = 0; i < BACKLOG; i++) {
      ch.sendToQueue(
        'execution_tasks',
        Buffer.from(JSON.stringify({ job_id: `job-${i}`, language: 'python' })),
        {
          persistent: true,
        },
      );
    }
    await ch.waitForConfirms();
    await conn.close();
    // The management API refreshes its statistics every 5 s: wait until it shows the backlog, and
    // until the transaction has been idle past the 10 s threshold (bounded by the hook timeout).
    await vi.waitFor(async () => expect(await managementDepth()).toBe(BACKLOG), {
      timeout: 30_000,
      interval: 500,
    });
    await vi.waitFor(
      async () => {
        const r = await held[0]!.query(
          'SELECT EXTRACT(EPOCH FROM now() - state_change) AS s FROM pg_stat_activity WHERE pid = $1',
          [leakedPid],
        );
        expect(Number(r.rows[0].s)).toBeGreaterThanOrEqual(11);
      },
      { timeout: 30_000, interval: 500 },
    );
  });

  afterAll(async () => {
    await Promise.all([...held, leaked].filter(Boolean).map((c) => c.end().catch(() => {})));
    await stack?.stop();
  });

  describe('one --once --json run with the conditions provoked', () => {
    let report: DiagnoseReport;
    let run: Awaited<ReturnType<typeof cliJson<DiagnoseReport>>>;

    beforeAll(async () => {
      run = await cliJson<DiagnoseReport>(['diagnose', ...common, '--once']);
      report = run.json.result;
    });

    test('exit 1 with the critical findings in the JSON envelope', () => {
      expect(run.exitCode, run.stderr).toBe(1);
      expect(run.json.status).toBe(1);
      expect(run.json.error?.code).toBe('CRITICAL_FINDINGS');
      expect(report.healthy).toBe(false);
    });

    test('jobs published with no consumer → stuck-in-QUEUED and backlog findings', () => {
      expect(byId(report, 'queue-no-consumers')).toMatchObject({
        severity: 'critical',
        evidence: { queue: 'execution_tasks', ready: BACKLOG, consumers: 0, via: 'management' },
      });
      // Above 1000 but not yet for 5 minutes: pending, with its start time.
      expect(byId(report, 'queue-backlog')).toMatchObject({
        severity: 'info',
        evidence: { messages: BACKLOG, ready: BACKLOG, unacked: 0, consumers: 0, threshold: 1000 },
      });
      expect(byId(report, 'queue-backlog')?.since).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    test('connections held open near max_connections → saturation with the counts', () => {
      expect(byId(report, 'pg-connections-saturation')).toMatchObject({
        severity: 'critical',
        evidence: {
          connections: HELD + 1,
          maxConnections: 20,
          superuserReserved: 3,
          usable: 17,
          ratio: 0.824,
        },
      });
      // The configured pools: 1 API × pool_max_conns 10 + 1 worker × 2 = 12; one session is busy.
      const facts = report.facts.postgres;
      expect(facts.ok && facts.facts.connections).toMatchObject({
        total: HELD + 1,
        appTotal: HELD + 1,
        appInUse: 1,
      });
      expect(facts.ok && facts.facts.pool.capacity).toBe(12);
    });

    test('a session left idle in transaction → that finding with its pid and duration', () => {
      const f = byId(report, 'pg-idle-in-transaction');
      expect(f).toMatchObject({
        severity: 'warning',
        evidence: {
          sessions: 1,
          pid: leakedPid,
          user: 'sentinel',
          lastQuery: 'SELECT pg_backend_pid() AS pid',
        },
      });
      expect(Number(f?.evidence.longestSeconds)).toBeGreaterThanOrEqual(11);
      expect(f?.detail).toContain(`pid ${leakedPid}`);
    });

    test('the worker and API are not running: each is a finding, the others are still reported', () => {
      expect(byId(report, 'worker-unreachable')?.severity).toBe('critical');
      expect(byId(report, 'api-unreachable')?.severity).toBe('critical');
      expect(byId(report, 'worker-unreachable')?.evidence.error).toMatch(/ECONNREFUSED/);
      for (const name of ['postgres', 'rabbitmq', 'redis', 'host'] as const)
        expect(report.facts[name].ok).toBe(true);
    });

    test('pg_stat_statements is there (the local stack preloads it), rates come from a real window', () => {
      const p = report.facts.postgres;
      expect(p.ok && p.facts.statStatements.available).toBe(true);
      expect(report.windowSeconds).toBeGreaterThanOrEqual(1);
      const r = report.facts.redis;
      expect(r.ok && r.facts.maxmemory).toBe(2 * 1024 * 1024);
    });

    test('no password appears anywhere in the output', () => {
      for (const s of Object.values(secrets)) {
        expect(run.stdout).not.toContain(s);
        expect(run.stderr).not.toContain(s);
      }
      expect(report.targets.postgres).toContain('****');
    });
  });

  test('Redis filled past a tiny maxmemory → evictions in the window', async () => {
    const redis = new Redis(urls().REDIS_URL, { maxRetriesPerRequest: 1 });
    const child = cliProcess(['diagnose', ...common, '--once', '--json', '--sample-interval', '3s']);
    let writes = 0;
    let done = false;
    void child.finally(() => {
      done = true;
    });
    // Keep writing 8 KiB values until diagnose has taken both samples (bounded: 500 000 writes;
    // Redis evicts under allkeys-lru, so its memory stays at maxmemory).
    const value = 'x'.repeat(8192);
    while (!done && writes < 500_000) {
      await redis.set(`fill:${writes}`, value);
      writes++;
    }
    const r = await child;
    await redis.quit();
    const report = (JSON.parse(String(r.stdout)) as { result: DiagnoseReport }).result;
    const f = byId(report, 'redis-evictions');
    expect(f?.severity, JSON.stringify(report.facts.redis)).toBe('warning');
    expect(Number(f?.evidence.evictedInWindow)).toBeGreaterThan(0);
    expect(Number(f?.evidence.evictedTotal)).toBeGreaterThanOrEqual(Number(f?.evidence.evictedInWindow));
    expect(f?.evidence).toMatchObject({ maxmemory: 2 * 1024 * 1024, policy: 'allkeys-lru' });
    expect(byId(report, 'redis-memory')?.severity).toBe('critical');
  });

  test('diagnose itself adds no error replies to Redis (no CLIENT SETINFO on Redis 7.0)', async () => {
    const redis = new Redis(urls().REDIS_URL, { maxRetriesPerRequest: 1, disableClientInfo: true });
    const errors = async () => Number(/total_error_replies:(\d+)/.exec(await redis.info('stats'))?.[1]);
    const before = await errors();
    await cliJson(['diagnose', ...common, '--once', '--sample-interval', '200ms']);
    await cliJson(['diagnose', ...common, '--once', '--sample-interval', '200ms']);
    expect(await errors()).toBe(before);
    await redis.quit();
  });

  test('against URLs only (no config, no state dir), credentials masked', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'sentinel-diagnose-urls-'));
    try {
      const r = await cliJson<DiagnoseReport>(['diagnose', '--once', '--sample-interval', '500ms'], {
        cwd,
        env: { ...urls(), WORKER_METRICS_URL: 'http://127.0.0.1:1/metrics', API_URL: 'http://127.0.0.1:1' },
      });
      const report = r.json.result;
      expect(report.facts.postgres.ok && report.facts.rabbitmq.ok && report.facts.redis.ok).toBe(true);
      expect(report.targets.postgres).toBe(
        `postgres://sentinel:****@127.0.0.1:${PORTS.postgres}/sentinel?sslmode=disable&pool_max_conns=10`,
      );
      expect(report.targets.worker).toBe('http://127.0.0.1:1/metrics');
      // pool_max_conns from DATABASE_URL sizes the pool: 1 × 10 + 1 × 2.
      expect(report.facts.postgres.ok && report.facts.postgres.facts.pool.capacity).toBe(12);
      for (const s of Object.values(secrets)) expect(r.stdout).not.toContain(s);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('management API unreachable → AMQP fallback with depth and consumers', async () => {
    const r = await cliJson<DiagnoseReport>([
      'diagnose',
      ...common,
      '--once',
      '--sample-interval',
      '200ms',
      '--rabbitmq-management-url',
      'http://sentinel:x@127.0.0.1:1',
    ]);
    const report = r.json.result;
    const mq = report.facts.rabbitmq;
    expect(mq.ok && mq.facts.via).toBe('amqp');
    expect(mq.ok && mq.facts.queues.find((q) => q.name === 'execution_tasks')).toMatchObject({
      ready: BACKLOG,
      consumers: 0,
    });
    expect(byId(report, 'rabbitmq-management-unreachable')?.severity).toBe('warning');
    expect(byId(report, 'queue-no-consumers')?.evidence).toMatchObject({ ready: BACKLOG, via: 'amqp' });
  });

  test('plain report without a terminal: components, ranked findings, fixes and sources', async () => {
    const r = await cli(['diagnose', ...common, '--sample-interval', '200ms']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^rabbitmq ok {3}execution_tasks 1,500 rdy 0 unack · 0 cons/m);
    expect(r.stdout).toMatch(/^worker {3}DOWN /m);
    expect(r.stdout).toContain('FINDINGS (most severe first)');
    expect(r.stdout).toMatch(/CRITICAL rabbitmq execution_tasks: 1,500 jobs waiting and no consumer/);
    // Wrapped at 80 columns: compare with the line breaks taken out.
    expect(r.stdout.replace(/\n\s+/g, ' ')).toContain(
      'source: sentinel-deployment-guide.md › Troubleshooting > Jobs Stuck in QUEUED',
    );
    expect(r.stderr).toMatch(/critical findings: .*queue-no-consumers/);
  });

  test('a component stopped mid-flight: its finding, the others still reported', async () => {
    const stopped = await cli(['down', ...common, '--services', 'redis']);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    const r = await cliJson<DiagnoseReport>(['diagnose', ...common, '--once', '--sample-interval', '200ms']);
    const report = r.json.result;
    expect(byId(report, 'redis-unreachable')).toMatchObject({ severity: 'critical', component: 'redis' });
    expect(byId(report, 'redis-unreachable')?.evidence.error).toMatch(/ECONNREFUSED/);
    expect(report.facts.redis.ok).toBe(false);
    expect(report.facts.postgres.ok && report.facts.rabbitmq.ok).toBe(true);
    expect(byId(report, 'queue-no-consumers')?.severity).toBe('critical');
    expect(byId(report, 'pg-connections-saturation')?.severity).toBe('critical');
  });
});
