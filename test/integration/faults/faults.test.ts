import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isTerminal } from '../../../src/jobs/repository.js';
import { cli, repoRoot } from '../../helpers/cli.js';
import { testOffset } from '../../helpers/ports.js';
import { servicePid, startStack, type TestStack } from '../../helpers/stack.js';
import { SubmissionStream, withDb } from '../../helpers/submissions.js';

/**
 * The fault suite: the real stack under a steady stream of distinct submissions while services
 * are killed and stopped. After each fault and `up`, every accepted job must reach a terminal
 * state with the right output, none may run twice, refused submissions must leave no rows, and
 * the API must be the process it was (unless the fault stopped it on purpose).
 */

let stack: TestStack;
let stream: SubmissionStream;
let apiPid: number;
const report: Array<Record<string, unknown>> = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function workerLog(): string {
  return readFileSync(path.join(stack.config.stateDir, 'worker', 'worker.log'), 'utf8');
}

/** Every accepted job terminal, right and run once; no rows for refused ones. Returns the figures. */
async function verify(fault: string, sentBefore: number, recoveryStart: number) {
  // Liveness guard, not a timing assertion: the reaper's grace plus a full retry budget.
  const accepted = stream.accepted();
  const open = await withDb(stack, (db) => stream.waitTerminal(db, 150_000));
  const recoverySeconds = Math.round((Date.now() - recoveryStart) / 100) / 10;
  expect(open, `jobs still not terminal after ${fault}`).toEqual([]);
  const rows = await withDb(stack, (db) => stream.rows(db));
  const acceptedIds = new Set(accepted.map((s) => s.jobId!));
  // Refused submissions (503, a reset, connection refused while the API was down) left no rows.
  const refusedWithRows = [...rows.values()]
    .map((r) => stream.sent[Number(/ n=(\d+)\n/.exec(r.source_code)?.[1])])
    .filter((s) => s && (s.error !== undefined || (s.httpStatus !== 0 && s.httpStatus !== 202)))
    .map((s) => `submission ${s!.n}: ${s!.error ?? s!.httpStatus}`);
  expect(refusedWithRows).toEqual([]);
  const wrong = accepted
    .map((s) => ({ s, row: rows.get(s.jobId!)! }))
    .filter(({ s, row }) => row.status !== 'SUCCESS' || row.stdout !== s.expected)
    .map(
      ({ s, row }) =>
        `job ${s.n} ${s.jobId}: ${row.status} ${JSON.stringify(row.stdout)} ${row.stderr ?? ''}`,
    );
  expect(wrong, `wrong results after ${fault}`).toEqual([]);
  const log = workerLog();
  const ranAgain = [...log.matchAll(/job ([0-9a-f-]{36}): ran again/g)].map((m) => m[1]);
  const storedTwice = [...acceptedIds].filter((id) => log.split(`job ${id}: SUCCESS stored`).length > 2);
  expect(ranAgain).toEqual([]);
  expect(storedTwice).toEqual([]);
  // The phase's figures: its submissions that had an answer when the checks began.
  const window = stream.sent
    .slice(sentBefore)
    .filter(
      (s) =>
        (s.jobId && acceptedIds.has(s.jobId)) ||
        s.error !== undefined ||
        (s.httpStatus !== 0 && s.httpStatus !== 202),
    );
  const windowAccepted = window.filter((s) => s.jobId && acceptedIds.has(s.jobId));
  const row = {
    fault,
    submitted: window.length,
    accepted: windowAccepted.length,
    succeeded: windowAccepted.filter((s) => rows.get(s.jobId!)?.status === 'SUCCESS').length,
    lost: windowAccepted.filter((s) => !isTerminal(rows.get(s.jobId!)?.status ?? 'QUEUED')).length,
    duplicated: ranAgain.length + storedTwice.length,
    refused: window.length - windowAccepted.length,
    recoverySeconds,
  };
  report.push(row);
  return row;
}

/** A fault, then `up`, then the checks. */
async function survive(fault: string, inject: () => Promise<void>, downFor = 3000) {
  const before = stream.sent.length;
  await sleep(2000); // Some jobs in flight when the fault hits.
  await inject();
  await sleep(downFor);
  const t0 = Date.now();
  const up = await cli(['up', ...stack.args]);
  expect(up.exitCode, up.stderr).toBe(0);
  await sleep(2000); // Jobs accepted after recovery are part of the window too.
  return verify(fault, before, t0);
}

function beamPid(): number {
  const record = JSON.parse(readFileSync(path.join(stack.config.stateDir, 'run', 'rabbitmq.json'), 'utf8'));
  const server = record.processes.find((p: { role: string }) => p.role === 'server').pid as number;
  const children = readFileSync(`/proc/${server}/task/${server}/children`, 'utf8').trim().split(/\s+/);
  return Number(children.find((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('beam')));
}

describe('fault suite: every accepted job reaches a terminal state, once, with the right output', () => {
  beforeAll(async () => {
    stack = await startStack({
      offset: testOffset('faults'),
      yaml: [
        'worker:',
        '  poolSize: 2',
        '  reaperIntervalMs: 2000',
        '  reaperGraceMs: 20000',
        'api:',
        '  rateLimit: 1000000',
        '',
      ].join('\n'),
    });
    apiPid = servicePid(stack, 'api');
    // 4 submissions a second: a steady load the 2-slot pool keeps up with on a busy 2-core machine.
    stream = new SubmissionStream(stack.urls.apiUrl, 250);
    stream.start();
  });

  afterAll(async () => {
    await stream?.stop();
    const out = path.join(repoRoot, 'reports');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'faults.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(report.map((r) => JSON.stringify(r)).join('\n'));
    await stack?.stop();
  });

  test('kill -9 of the worker, twice: up restarts it and its jobs run once', async () => {
    for (const round of [1, 2]) {
      const r = await survive(`worker kill -9 #${round}`, async () => {
        process.kill(servicePid(stack, 'worker'), 'SIGKILL');
      });
      expect(r.accepted).toBeGreaterThan(0);
    }
    expect(servicePid(stack, 'api')).toBe(apiPid);
  });

  test('RabbitMQ stopped gracefully: up starts it, the worker and API reconnect', async () => {
    await survive('rabbitmq graceful stop', async () => {
      const r = await cli(['down', '--services', 'rabbitmq', ...stack.args]);
      expect(r.exitCode).toBe(0);
    });
    expect(servicePid(stack, 'api')).toBe(apiPid);
  });

  test('kill -9 of RabbitMQ (epmd left running): up cleans the half-dead node and starts it', async () => {
    await survive('rabbitmq kill -9', async () => {
      process.kill(beamPid(), 'SIGKILL');
    });
    expect(servicePid(stack, 'api')).toBe(apiPid);
  });

  test('PostgreSQL down for 10 s: jobs wait with backoff instead of being dead-lettered', async () => {
    await survive(
      'postgres down 10 s',
      async () => {
        const r = await cli(['down', '--services', 'postgres', ...stack.args]);
        expect(r.exitCode).toBe(0);
      },
      10_000,
    );
    expect(servicePid(stack, 'api')).toBe(apiPid);
  });

  test('Redis down: submissions keep being accepted, jobs keep running', async () => {
    const r = await survive(
      'redis down 5 s',
      async () => {
        const d = await cli(['down', '--services', 'redis', ...stack.args]);
        expect(d.exitCode).toBe(0);
      },
      5000,
    );
    // The rate limiter fails open: nothing was refused while Redis was down.
    expect(r.refused).toBe(0);
    expect(servicePid(stack, 'api')).toBe(apiPid);
  });

  test('down of the whole stack with jobs running, then up: nothing accepted is lost', async () => {
    await survive('whole stack down', async () => {
      const r = await cli(['down', ...stack.args]);
      expect(r.exitCode).toBe(0);
    });
    // Stopped and started on purpose: a new API process.
    expect(servicePid(stack, 'api')).not.toBe(apiPid);
  });

  test('when the stream stops, every job it ever had accepted is terminal, right and run once', async () => {
    await stream.stop();
    const r = await verify('all faults, whole stream', 0, Date.now());
    expect(r.lost).toBe(0);
    expect(r.succeeded).toBe(r.accepted);
  });
});
