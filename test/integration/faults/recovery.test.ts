import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TASK_QUEUE } from '../../../src/services/rabbitmq/topology.js';
import { lockKey } from '../../../src/worker/lock.js';
import { cli, cliJson } from '../../helpers/cli.js';
import { testOffset } from '../../helpers/ports.js';
import { startStack, type TestStack } from '../../helpers/stack.js';
import { withDb } from '../../helpers/submissions.js';

/**
 * The worker's last lines of defence, on a real stack with a short retry budget and a fast
 * reaper: a job whose worker is gone is failed (never rerun), a live holder's job is left alone,
 * and a job given up on during a database outage gets its terminal row once the database is back.
 */

let stack: TestStack;

async function insertRow(db: pg.Client, status: string, updatedAgo: string): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO execution_jobs (job_id, language, source_code, status, time_limit_ms, updated_at)
     VALUES ($1, 'python', 'print(1)', $2, 1000, now() - $3::interval)`,
    [id, status, updatedAgo],
  );
  return id;
}

async function statusOf(id: string): Promise<{ status: string; stderr: string | null }> {
  return withDb(
    stack,
    async (db) =>
      (await db.query('SELECT status, stderr FROM execution_jobs WHERE job_id = $1', [id])).rows[0],
  );
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, limitMs = 60_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(stack.urls.workerMetricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('worker recovery: reaper and retry budget', () => {
  beforeAll(async () => {
    stack = await startStack({
      offset: testOffset('faultsRecovery'),
      yaml: [
        'worker:',
        '  poolSize: 1',
        '  infraRetryBudgetMs: 3000',
        '  reaperIntervalMs: 1000',
        '  reaperGraceMs: 5000',
        '',
      ].join('\n'),
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  test('a RUNNING job with no live worker is failed once; one whose lock is held is left alone', async () => {
    const redis = new Redis(stack.urls.redisUrl);
    try {
      const { lost, held } = await withDb(stack, async (db) => ({
        lost: await insertRow(db, 'RUNNING', '1 hour'),
        held: await insertRow(db, 'RUNNING', '1 hour'),
      }));
      await redis.set(lockKey(held), 'another-worker:0', 'PX', 120_000);
      const reaped = await until('the reaper', async () => {
        const r = await statusOf(lost);
        return r.status === 'RUNNING' ? undefined : r;
      });
      expect(reaped.status).toBe('INTERNAL_ERROR');
      expect(reaped.stderr).toMatch(/no worker finished this job: it was RUNNING \d+ s past its time limit/);
      // The same scan saw the held job and skipped it.
      expect((await statusOf(held)).status).toBe('RUNNING');
      expect(await metric('sentinel_jobs_reaped_total')).toBeGreaterThanOrEqual(1);
    } finally {
      redis.disconnect();
    }
  });

  test('a recent RUNNING job (within its time limit + grace) is not reaped', async () => {
    const [recent, old] = await withDb(stack, async (db) => [
      await insertRow(db, 'RUNNING', '0 seconds'),
      await insertRow(db, 'COMPILING', '1 hour'),
    ]);
    await until('the reaper', async () => ((await statusOf(old)).status === 'COMPILING' ? undefined : true));
    expect((await statusOf(old)).status).toBe('INTERNAL_ERROR');
    expect((await statusOf(recent)).status).toBe('RUNNING');
  });

  test('PostgreSQL down past the retry budget: the message is dead-lettered and the row ends INTERNAL_ERROR once PostgreSQL is back', async () => {
    const id = await withDb(stack, (db) => insertRow(db, 'QUEUED', '0 seconds'));
    const before = await metric('sentinel_messages_dead_lettered_total{reason="infrastructure"}');
    const down = await cli(['down', '--services', 'postgres', ...stack.args]);
    expect(down.exitCode).toBe(0);
    const conn = await amqp.connect(stack.urls.rabbitmqUrl);
    try {
      const ch = await conn.createConfirmChannel();
      ch.sendToQueue(
        TASK_QUEUE,
        Buffer.from(JSON.stringify({ job_id: id, language: 'python', source_code: 'print(1)' })),
        { persistent: true },
      );
      await ch.waitForConfirms();
      // The worker retries for its 3 s budget, then dead-letters the message and counts it.
      await until('the dead-letter', async () =>
        (await metric('sentinel_messages_dead_lettered_total{reason="infrastructure"}')) > before
          ? true
          : undefined,
      );
      const dlq = await ch.checkQueue('execution_tasks.dlq');
      expect(dlq.messageCount).toBeGreaterThanOrEqual(1);
    } finally {
      await conn.close();
    }
    const up = await cli(['up', ...stack.args]);
    expect(up.exitCode, up.stderr).toBe(0);
    const row = await until('the pending result', async () => {
      const r = await statusOf(id);
      return r.status === 'QUEUED' ? undefined : r;
    });
    expect(row.status).toBe('INTERNAL_ERROR');
    expect(row.stderr).toMatch(
      /the job was given up: claiming the job: still failing after \d+ s of retries/,
    );
  });

  test('RabbitMQ killed and its pid file lost: up stops the leftover epmd holding its port and starts it', async () => {
    const runFile = path.join(stack.config.stateDir, 'run', 'rabbitmq.json');
    const record = JSON.parse(readFileSync(runFile, 'utf8'));
    const epmd = record.processes.find((p: { role: string }) => p.role === 'epmd').pid as number;
    const server = record.processes.find((p: { role: string }) => p.role === 'server').pid as number;
    process.kill(-server, 'SIGKILL');
    rmSync(runFile);
    const up = await cli(['up', ...stack.args]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stderr).toContain(`rabbitmq: stopping a leftover epmd (pid ${epmd})`);
    expect(existsSync(`/proc/${epmd}`)).toBe(false);
    const st = await cli(['status', '--services', 'rabbitmq', ...stack.args]);
    expect(st.exitCode).toBe(0);
  });

  test('with no worker running, diagnose reports a stuck job as critical; up brings the worker whose reaper fails it', async () => {
    const down = await cli(['down', '--services', 'worker', ...stack.args]);
    expect(down.exitCode).toBe(0);
    const id = await withDb(stack, (db) => insertRow(db, 'RUNNING', '10 minutes'));
    const d = await cliJson<{
      findings: Array<{ id: string; severity: string; evidence: Record<string, number> }>;
    }>(['diagnose', '--once', '--components', 'postgres', ...stack.args]);
    expect(d.exitCode).toBe(1);
    const stuck = d.json.result.findings.find((f) => f.id === 'jobs-stuck');
    expect(stuck?.severity).toBe('critical');
    // This one, and the first test's job whose fake holder's lock has lapsed by now.
    const expected = await withDb(stack, async (db) =>
      Number(
        (
          await db.query(
            `SELECT count(*) FROM execution_jobs WHERE status IN ('RUNNING', 'COMPILING')
             AND updated_at < now() - (time_limit_ms + 60000) * interval '1 millisecond'`,
          )
        ).rows[0].count,
      ),
    );
    expect(expected).toBeGreaterThanOrEqual(1);
    expect(stuck?.evidence.stuckJobs).toBe(expected);
    expect(stuck?.evidence.oldestSeconds).toBeGreaterThanOrEqual(600);
    const up = await cli(['up', ...stack.args]);
    expect(up.exitCode, up.stderr).toBe(0);
    const row = await until('the reaper', async () => {
      const r = await statusOf(id);
      return r.status === 'RUNNING' ? undefined : r;
    });
    expect(row.status).toBe('INTERNAL_ERROR');
  });
});
