/**
 * issue 16's provocation table on one real stack (all five services, started by `up`): each
 * condition is provoked for real and `diagnose --once --json` must report it at the guide's
 * severity, naming its window source. Where a guide's window is minutes long, the earlier part
 * of the window is injected into the rolling sample file (the same file cron runs build), and
 * the condition itself is real at the time of the run.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import amqp from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { managementRequest } from '../../../src/clients/rabbitmq-management.js';
import type { DiagnoseReport } from '../../../src/diagnose/types.js';
import type { HistorySample } from '../../../src/diagnose/windows/history.js';
import { pgClientUrl } from '../../../src/services/endpoints.js';
import { cli } from '../../helpers/cli.js';
import { diagnoseOnce, findingById } from '../../helpers/diagnose.js';
import { testOffset } from '../../helpers/ports.js';
import { startStack, type TestStack } from '../../helpers/stack.js';

const byId = findingById;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: TestStack;

const diagnose = (...extra: string[]): Promise<DiagnoseReport> => diagnoseOnce(stack.args, ...extra);

async function submit(source: string): Promise<number> {
  const res = await fetch(`${stack.urls.apiUrl}/api/v1/submissions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ language: 'python', source_code: source }),
  });
  await res.text();
  return res.status;
}

function sampleFile(): string {
  const dir = path.join(stack.config.stateDir, 'diagnose');
  const name = readdirSync(dir).find((f) => /^samples-.*\.json$/.test(f));
  if (!name) throw new Error(`no sample file in ${dir}`);
  return path.join(dir, name);
}

/** Rewrites the sample file through `edit` (the earlier part of a window, injected). */
function editSamples(edit: (samples: HistorySample[]) => HistorySample[]): void {
  const file = sampleFile();
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  doc.samples = edit(doc.samples);
  writeFileSync(file, JSON.stringify(doc));
}

/** Waits until the management API shows the task queue at `messages` (its figures trail by up to 5 s). */
async function untilDepth(messages: number): Promise<void> {
  await vi.waitFor(
    async () => {
      const { base, headers } = managementRequest(stack.urls.rabbitmqManagementUrl);
      const res = await fetch(`${base}/api/queues/%2F/execution_tasks`, { headers });
      expect(((await res.json()) as { messages?: number }).messages).toBe(messages);
    },
    { timeout: 30_000, interval: 500 },
  );
}

async function db(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: pgClientUrl(stack.urls.databaseUrl) });
  await c.connect();
  return c;
}

describe('diagnose on a provoked real stack (issue 16 provocation table)', () => {
  beforeAll(async () => {
    stack = await startStack({
      offset: testOffset('diagnoseProvoked'),
      yaml: [
        'postgres:',
        '  maxConnections: 30',
        'api:',
        '  poolMaxConns: 3',
        '  poolMinConns: 1',
        '  rateLimit: 100000',
        'worker:',
        '  poolSize: 4',
        '',
      ].join('\n'),
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  test('healthy under load: a steady stream of normal submissions for a minute → no warning', async () => {
    const until = Date.now() + 60_000;
    const statuses: number[] = [];
    const load = (async () => {
      while (Date.now() < until) {
        statuses.push(await submit('print(sum(range(1000)))'));
        await sleep(400);
      }
    })();
    // Cron-like: a run every ~15 s builds the sample file while the load runs.
    const reports: DiagnoseReport[] = [];
    while (Date.now() < until) {
      reports.push(await diagnose());
      await sleep(10_000);
    }
    await load;
    reports.push(await diagnose());
    expect(statuses.length).toBeGreaterThan(50);
    expect(statuses.every((s) => s === 202)).toBe(true);
    const last = reports[reports.length - 1]!;
    expect(last.windows.source).toBe('sample-file');
    expect(last.windows.historySeconds).toBeGreaterThanOrEqual(55);
    // The machine is shared with other jobs: its own CPU and memory are not the stack's health.
    const stackFindings = (r: DiagnoseReport) =>
      r.findings
        .filter((f) => f.component !== 'host' && f.severity !== 'info')
        .map((f) => `${f.id}: ${f.title}`);
    for (const r of reports) expect(stackFindings(r)).toEqual([]);
    // The executions were seen: the error-rate window covers the load, with no errors.
    const w = last.facts.worker;
    expect(w.ok && (w.facts.executionsByStatus.SUCCESS ?? 0)).toBeGreaterThan(50);
    // And Redis (locks, rate limits) is not judged as a cache.
    expect(byId(last, 'redis-hit-rate')).toBeUndefined();
  });

  test('error rate > 10 % held over 5 minutes of the sample file → warning', async () => {
    for (let i = 0; i < 30; i++) expect(await submit('import sys; sys.exit(3)')).toBe(202);
    await vi.waitFor(
      async () => {
        const c = await db();
        try {
          const r = await c.query(
            "SELECT count(*)::int AS n FROM execution_jobs WHERE status = 'RUNTIME_ERROR'",
          );
          expect(r.rows[0].n).toBe(30);
        } finally {
          await c.end();
        }
      },
      { timeout: 60_000, interval: 1000 },
    );
    // The runs of the previous test started the window; its oldest sample is moved to 5 m ago,
    // so the real counters' increase since then is read as the last 5 minutes.
    editSamples((s) => {
      s[0]!.at = Date.now() - 300_000;
      return s;
    });
    const r = await diagnose();
    const f = byId(r, 'high-error-rate');
    expect(f, JSON.stringify(r.findings.map((x) => x.id))).toBeDefined();
    expect(f).toMatchObject({ severity: 'warning', evidence: { windowSource: 'sample-file' } });
    expect(Number(f?.evidence.errors)).toBeGreaterThanOrEqual(30);
    expect(Number(f?.evidence.windowSeconds)).toBeGreaterThanOrEqual(295);
    expect(String(f?.evidence.breakdown)).toMatch(/RUNTIME_ERROR/);
  });

  test('API pool exhaustion: its 3 connections wait on a lock, health takes seconds → critical, counted on the API', async () => {
    const locker = await db();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE execution_jobs IN ACCESS EXCLUSIVE MODE');
    const pending = Array.from({ length: 6 }, () => submit('print(1)'));
    try {
      await sleep(1500);
      const r = await diagnose();
      const f = byId(r, 'pgx-pool-exhaustion');
      expect(f, JSON.stringify(r.findings.map((x) => `${x.id} ${x.title}`))).toMatchObject({
        severity: 'critical',
        evidence: { inUse: 3, poolCapacity: 3, counted: 'api' },
      });
      expect(String(f?.evidence.latencyEvidence)).toMatch(/health check|database check/);
      // The waiting sessions are lock waits, not "slow queries" needing an index.
      expect(byId(r, 'pg-long-running-query')).toBeUndefined();
      expect(byId(r, 'pg-blocked-sessions')?.severity).toBe('warning');
    } finally {
      await locker.query('COMMIT');
      await locker.end();
      await Promise.all(pending);
    }
  });

  test('slow executions: 4 results held 32 s behind a row lock → execution p99 above 30 s (warning)', async () => {
    // sentinel_execution_duration_seconds runs from the claim to the stored result: lock the rows
    // once they are RUNNING, so storing the results waits.
    for (let i = 0; i < 4; i++) expect(await submit('import time; time.sleep(4)')).toBe(202);
    const locker = await db();
    await locker.query('BEGIN');
    const locked = new Set<string>();
    const deadline = Date.now() + 20_000;
    while (locked.size < 4 && Date.now() < deadline) {
      const r = await locker.query("SELECT job_id FROM execution_jobs WHERE status = 'RUNNING' FOR UPDATE");
      for (const row of r.rows) locked.add(row.job_id);
      await sleep(100);
    }
    expect(locked.size).toBe(4);
    await sleep(32_000);
    await locker.query('COMMIT');
    await locker.end();
    await vi.waitFor(
      async () => {
        const c = await db();
        try {
          const r = await c.query(
            "SELECT count(*)::int AS n FROM execution_jobs WHERE status IN ('QUEUED', 'RUNNING')",
          );
          expect(r.rows[0].n).toBe(0);
        } finally {
          await c.end();
        }
      },
      { timeout: 60_000, interval: 1000 },
    );
    const r = await diagnose();
    const f = byId(r, 'execution-p99-high');
    expect(f, JSON.stringify(r.findings.map((x) => x.id))).toMatchObject({
      severity: 'warning',
      evidence: { beyondLastBucket: true, windowSource: 'sample-file' },
    });
  });

  test('jobs QUEUED with no message in the queue (lost) → critical', async () => {
    const c = await db();
    try {
      await c.query(
        "INSERT INTO execution_jobs (job_id, language, source_code, created_at) VALUES (gen_random_uuid(), 'python', 'print(1)', now() - interval '2 minutes')",
      );
      // The management API's figures trail the last acks by up to 5 s: wait for the empty queue.
      await untilDepth(0);
      const r = await diagnose();
      const pgFacts = r.facts.postgres;
      const mq = r.facts.rabbitmq;
      const why = JSON.stringify({
        queued: pgFacts.ok ? pgFacts.facts.queuedJobs : pgFacts,
        task: mq.ok ? mq.facts.queues.find((q) => q.name === 'execution_tasks') : mq,
        findings: r.findings.map((f) => f.id),
      });
      expect(byId(r, 'queued-jobs-lost'), why).toMatchObject({
        severity: 'critical',
        evidence: { queuedJobs: 1, queueMessages: 0 },
      });
      expect(Number(byId(r, 'queued-jobs-lost')?.evidence.oldestSeconds)).toBeGreaterThanOrEqual(120);
    } finally {
      await c.query("DELETE FROM execution_jobs WHERE status = 'QUEUED'");
      await c.end();
    }
  });

  test('PostgreSQL at max_connections → saturation (SQLSTATE 53300), not "unreachable"', async () => {
    const held: pg.Client[] = [];
    const grab = async (): Promise<string | undefined> => {
      const c = new pg.Client({ connectionString: pgClientUrl(stack.urls.databaseUrl) });
      try {
        await c.connect();
        held.push(c);
        return undefined;
      } catch (error) {
        return (error as { code?: string }).code;
      }
    };
    let filling = true;
    try {
      while ((await grab()) === undefined) {
        if (held.length > 40) throw new Error('max_connections 30 never reached');
      }
      expect(await grab()).toBe('53300');
      // Keep every slot taken while diagnose runs: a pool that closes an idle connection frees one.
      const filler = (async () => {
        while (filling) {
          await grab();
          await sleep(50);
        }
      })();
      const r = await diagnose();
      filling = false;
      await filler;
      expect(byId(r, 'postgres-unreachable')).toBeUndefined();
      expect(byId(r, 'pg-connections-saturation')).toMatchObject({
        severity: 'critical',
        evidence: { sqlstate: '53300' },
      });
    } finally {
      filling = false;
      await Promise.all(held.map((c) => c.end().catch(() => {})));
    }
  });

  test('backlog > 1000 held 5 minutes (earlier minutes in the sample file) → warning; worker stopped → critical', async () => {
    expect((await cli(['down', ...stack.args, '--services', 'worker'])).exitCode).toBe(0);
    const conn = await amqp.connect(stack.urls.rabbitmqUrl);
    const ch = await conn.createConfirmChannel();
    for (let i = 0; i < 1100; i++) {
      ch.sendToQueue('execution_tasks', Buffer.from(JSON.stringify({ job_id: `backlog-${i}` })), {
        persistent: true,
      });
    }
    await ch.waitForConfirms();
    await conn.close();
    // The management API refreshes its statistics every 5 s.
    await untilDepth(1100);
    // Cron's earlier runs, a minute apart, all saw the backlog with no worker.
    editSamples((s) => {
      const now = Date.now();
      const earlier = [330, 270, 210, 150, 90, 30].map((ago) => ({
        ...s[s.length - 1]!,
        at: now - ago * 1000,
        queue: 1100,
        workersActive: null,
        executions: null,
        sandbox: null,
        buckets: null,
      }));
      return [...s.filter((x) => x.at < now - 400_000), ...earlier];
    });
    const r = await diagnose();
    expect(byId(r, 'queue-backlog')).toMatchObject({
      severity: 'warning',
      evidence: { messages: 1100, windowSource: 'sample-file' },
    });
    expect(Number(byId(r, 'queue-backlog')?.evidence.heldSeconds)).toBeGreaterThanOrEqual(330);
    expect(byId(r, 'worker-unreachable')).toMatchObject({
      severity: 'critical',
      evidence: { windowSource: 'sample-file' },
    });
    expect(Number(byId(r, 'worker-unreachable')?.evidence.heldSeconds)).toBeGreaterThanOrEqual(330);
    expect(byId(r, 'queue-no-consumers')).toMatchObject({
      severity: 'critical',
      evidence: { confirmedBy: 'passive queue declare' },
    });
  });

  test('Redis down → redis critical and the API says which backend (not "API unreachable")', async () => {
    expect((await cli(['down', ...stack.args, '--services', 'redis'])).exitCode).toBe(0);
    const r = await diagnose();
    expect(byId(r, 'redis-unreachable')?.severity).toBe('critical');
    expect(byId(r, 'api-unreachable')).toBeUndefined();
    expect(byId(r, 'api-unhealthy')).toMatchObject({ severity: 'critical', evidence: { httpStatus: 503 } });
    expect(String(byId(r, 'api-unhealthy')?.evidence.redis)).toMatch(/down/);
  });

  test('--components: only the named components are checked: Redis being down is not reported when not asked about', async () => {
    const r = await diagnose('--components', 'postgres,rabbitmq');
    expect(r.facts.redis).toMatchObject({ ok: false, skipped: true });
    expect(r.facts.worker).toMatchObject({ ok: false, skipped: true });
    expect(r.findings.map((f) => f.component).filter((c) => !['postgres', 'rabbitmq'].includes(c))).toEqual(
      [],
    );
    expect(r.facts.postgres.ok && r.facts.rabbitmq.ok).toBe(true);
  });
});
