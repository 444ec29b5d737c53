import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ReconnectingAmqp } from '../clients/amqp.js';
import { backoffMs, sleep } from '../clients/backoff.js';
import { parseJobMessage } from '../jobs/message.js';
import {
  claimJob,
  ensureJob,
  getJob,
  isTerminal,
  type JobResultRow,
  pgSafeText,
  setRunningStatus,
  storeResult,
  type TerminalStatus,
} from '../jobs/repository.js';
import { describeError } from '../lib/errors.js';
import { pgClientUrl } from '../services/endpoints.js';
import { DEAD_LETTER_QUEUE, declareTopology, TASK_QUEUE } from '../services/rabbitmq/topology.js';
import { JobLock, lockKey } from './lock.js';
import { WorkerMetrics } from './metrics.js';
import { runJob, type SandboxDriver } from './sandbox/index.js';

export interface WorkerOptions {
  databaseUrl: string;
  rabbitmqUrl: string;
  redisUrl: string;
  poolSize: number;
  prefetch: number;
  deliveryLimit: number;
  metricsPort: number;
  metricsHost: string;
  driver: SandboxDriver;
  /** The driver's cgroup mode from its init(), for the sentinel_sandbox_info metric. */
  sandboxCgroups?: string;
  /** How long SIGTERM waits for running executions before it kills them (unacked: redelivered). */
  shutdownGraceMs: number;
  /** How long PostgreSQL/Redis failures are retried (backoff with jitter) before a job is given up. */
  infraRetryBudgetMs: number;
  /** How often the reaper runs, and how long past its time limit a lock-less running job may sit. */
  reaperIntervalMs: number;
  reaperGraceMs: number;
  log: (message: string) => void;
}

interface Delivery {
  ch: amqp.Channel;
  msg: amqp.ConsumeMessage;
}

/** PostgreSQL or Redis stayed unreachable for the whole retry budget. */
class InfrastructureGaveUp extends Error {
  constructor(
    readonly what: string,
    override readonly cause: unknown,
    readonly seconds: number,
  ) {
    super(`${what}: still failing after ${seconds} s of retries: ${describeError(cause)}`);
  }
}

/** One pool worker: its own channel and consumer (prefetch is per consumer), one execution at a time. */
interface Slot {
  index: number;
  ch?: amqp.Channel;
  consumerTag?: string;
  queue: Delivery[];
  busy?: Promise<void>;
  abort?: AbortController;
}

/**
 * The Sentinel-compatible worker: WORKER_POOL_SIZE slots consume `execution_tasks`, each job runs
 * in the sandbox once (Redis lock + "result stored once" in PostgreSQL), statuses go QUEUED →
 * COMPILING → RUNNING → terminal, and a message is acknowledged only after its result is stored.
 */
export class Worker {
  readonly metrics = new WorkerMetrics();
  private readonly instance = randomUUID();
  private readonly db: pg.Pool;
  private readonly redis: Redis;
  private readonly amqp: ReconnectingAmqp;
  private readonly slots: Slot[];
  private server?: http.Server;
  private stopping = false;
  /**
   * Outcomes the database could not take when they happened (a result, or the INTERNAL_ERROR of a
   * job given up on): stored by the reaper once PostgreSQL is back, so no row stays non-terminal.
   */
  private readonly pendingResults = new Map<string, JobResultRow>();
  private reaperTimer?: NodeJS.Timeout;
  private reaping?: Promise<void>;

  constructor(private readonly opts: WorkerOptions) {
    this.db = new pg.Pool({ connectionString: pgClientUrl(opts.databaseUrl), max: opts.poolSize + 2 });
    this.db.on('error', (e) => opts.log(`postgres: idle client error: ${describeError(e)}`));
    this.redis = new Redis(opts.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      // Redis down must cost a job a second, not the client's whole retry schedule.
      commandTimeout: 1000,
      retryStrategy: (n) => Math.min(200 * 2 ** n, 5000),
    });
    this.redis.on('error', () => {});
    this.amqp = new ReconnectingAmqp(
      opts.rabbitmqUrl,
      opts.log,
      `sentinel-worker ${this.instance.slice(0, 8)}`,
    );
    this.slots = Array.from({ length: opts.poolSize }, (_, index) => ({ index, queue: [] }));
    this.metrics.poolSize.set(opts.poolSize);
    this.metrics.sandboxInfo.set({ driver: opts.driver.name, cgroups: opts.sandboxCgroups ?? 'unknown' }, 1);
  }

  async start(): Promise<void> {
    await this.startMetricsServer();
    await this.redis
      .connect()
      .catch((e) => this.opts.log(`redis: ${describeError(e)}; retrying in the background`));
    this.amqp.on('connected', (conn) => {
      void this.attach(conn);
    });
    this.amqp.on('disconnected', () => {
      for (const slot of this.slots) {
        slot.ch = undefined;
        slot.consumerTag = undefined;
        // Buffered deliveries died with their channel; the broker redelivers them.
        slot.queue.length = 0;
      }
      this.metrics.workersActive.set(0);
    });
    await this.amqp.start();
    this.scheduleReaper();
  }

  /** (Re)creates the topology and one channel + consumer per slot on a fresh connection. */
  private async attach(conn: amqp.ChannelModel): Promise<void> {
    try {
      const setup = await conn.createChannel();
      await declareTopology(setup, { deliveryLimit: this.opts.deliveryLimit });
      await setup.close();
      for (const slot of this.slots) {
        const ch = await conn.createChannel();
        ch.on('error', () => {});
        await ch.prefetch(this.opts.prefetch);
        slot.ch = ch;
        const { consumerTag } = await ch.consume(TASK_QUEUE, (msg) => {
          if (msg) this.enqueue(slot, { ch, msg });
        });
        slot.consumerTag = consumerTag;
      }
      this.metrics.workersActive.set(this.slots.filter((s) => s.consumerTag).length);
      this.opts.log(
        `worker: ${this.slots.length} pool workers consuming ${TASK_QUEUE} (prefetch ${this.opts.prefetch})`,
      );
    } catch (error) {
      this.opts.log(`worker: could not set up consumers: ${describeError(error)}`);
      await conn.close().catch(() => {});
    }
  }

  private enqueue(slot: Slot, d: Delivery): void {
    if (this.stopping) {
      this.safe(() => d.ch.nack(d.msg, false, true));
      return;
    }
    slot.queue.push(d);
    if (!slot.busy) slot.busy = this.drain(slot).finally(() => (slot.busy = undefined));
  }

  private async drain(slot: Slot): Promise<void> {
    for (let d = slot.queue.shift(); d && !this.stopping; d = slot.queue.shift()) {
      slot.abort = new AbortController();
      try {
        await this.handle(slot, d, slot.abort.signal);
      } catch (error) {
        if (this.stopping || slot.abort.signal.aborted) {
          // Shutdown cut the retries short: another worker takes the message.
          this.safe(() => d.ch.nack(d.msg, false, true));
        } else {
          // The retry budget is spent (or something unexpected broke): the message is failed for
          // good, and its row gets a terminal status now or, with PostgreSQL down, once it is back.
          const jobId = parseJobMessage(d.msg.content);
          if (jobId.ok) this.giveUp(jobId.job.job_id, describeError(error));
          this.deadLetter(d, 'infrastructure', describeError(error));
        }
      } finally {
        slot.abort = undefined;
      }
    }
  }

  /** Records an INTERNAL_ERROR for a job that will not run (unless a real result is pending). */
  private giveUp(jobId: string, reason: string): void {
    if (this.pendingResults.has(jobId)) return;
    this.pendingResults.set(jobId, {
      status: 'INTERNAL_ERROR',
      stdout: '',
      stderr: `sentinel worker: the job was given up: ${reason}`,
      exit_code: null,
      time_used_ms: 0,
      memory_used_kb: 0,
    });
    void this.flushPending();
  }

  /**
   * Runs a PostgreSQL or Redis operation, retrying failures with exponential backoff and full
   * jitter for the retry budget (docs/stack.md "Faults"): a database restart costs a delay, not
   * the job. Throws InfrastructureGaveUp when the budget is spent or the signal aborts.
   */
  private async retrying<T>(what: string, op: () => Promise<T>, signal: AbortSignal): Promise<T> {
    const t0 = Date.now();
    const deadline = t0 + this.opts.infraRetryBudgetMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const value = await op();
        if (attempt > 0) this.opts.log(`worker: ${what}: succeeded after ${attempt} retries`);
        return value;
      } catch (error) {
        const left = deadline - Date.now();
        if (left <= 0 || signal.aborted) {
          throw new InfrastructureGaveUp(what, error, Math.round((Date.now() - t0) / 1000));
        }
        if (attempt === 0)
          this.opts.log(`worker: ${what} failed, retrying with backoff: ${describeError(error)}`);
        this.metrics.infraRetries.inc();
        await sleep(Math.min(backoffMs(attempt, 200, 5000), left), signal);
      }
    }
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch {
      // The channel is gone with its connection: the broker redelivers the message.
    }
  }

  private deadLetter(d: Delivery, reason: string, detail: string): void {
    this.opts.log(`worker: dead-lettering a message (${reason}): ${detail}`);
    this.metrics.deadLettered.inc({ reason });
    this.safe(() => d.ch.nack(d.msg, false, false));
  }

  private async handle(slot: Slot, d: Delivery, signal: AbortSignal): Promise<void> {
    const parsed = parseJobMessage(d.msg.content);
    if (!parsed.ok) {
      // Unprocessable: no retry can help, so straight to the dead-letter queue.
      if (parsed.jobId && /^[0-9a-f-]{36}$/i.test(parsed.jobId)) {
        this.giveUp(parsed.jobId, `cannot process this job: ${parsed.reason}`);
      }
      this.deadLetter(d, 'invalid', parsed.reason);
      return;
    }
    const job = parsed.job;
    // The submission's X-Request-ID follows the job into this log (docs/api.md "Request ids").
    const rid = job.request_id ? ` (request ${job.request_id})` : '';
    const lock = new JobLock(this.redis, job.job_id, `${this.instance}:${slot.index}`);
    if (!(await this.acquire(lock, job.job_id, signal))) {
      this.metrics.duplicates.inc();
      this.safe(() => d.ch.ack(d.msg));
      return;
    }
    try {
      // One round trip in the common case: claim the row (COMPILING for C++, RUNNING for Python).
      const first = job.language === 'cpp' ? 'COMPILING' : 'RUNNING';
      const claim = () =>
        this.retrying('claiming the job', () => claimJob(this.db, job.job_id, first), signal);
      let status = await claim();
      if (status === undefined) {
        // Published by another producer without a row: create it, then claim it.
        await this.retrying('creating the job row', () => ensureJob(this.db, job), signal);
        status = await claim();
      }
      if (status === undefined || isTerminal(status)) {
        // Redelivered after its result was stored (e.g. the ack was lost): the stored result stands.
        this.metrics.duplicates.inc();
        this.safe(() => d.ch.ack(d.msg));
        return;
      }
      const started = performance.now();
      this.metrics.inProgress.inc();
      let result: Awaited<ReturnType<typeof runJob>>;
      try {
        result = await runJob(
          {
            language: job.language,
            source: job.source_code,
            stdin: job.stdin,
            timeLimitMs: job.time_limit_ms,
            memoryLimitKb: job.memory_limit_kb,
          },
          {
            driver: this.opts.driver,
            slot: slot.index,
            signal,
            // COMPILING was set by the claim; only the move to RUNNING after compiling is new.
            onPhase: (phase) =>
              phase === first
                ? undefined
                : this.retrying('setting RUNNING', () => setRunningStatus(this.db, job.job_id, phase), signal)
                    .then(() => {})
                    // A status hint only: the result below is what counts.
                    .catch(() => {}),
          },
        );
      } finally {
        this.metrics.inProgress.dec();
      }
      if (signal.aborted) return; // Shutdown killed it: not stored, not acked → redelivered.
      if (result.status === 'INTERNAL_ERROR' && result.sandboxFailure) this.metrics.sandboxFailures.inc();
      const row: JobResultRow = {
        status: result.status as TerminalStatus,
        stdout: pgSafeText(result.stdout),
        stderr: pgSafeText(
          result.sandboxFailure
            ? `${result.stderr}\nsandbox: ${result.sandboxFailure}`.trim()
            : result.stderr,
        ),
        exit_code: result.exitCode,
        time_used_ms: Math.round(result.timeUsedMs),
        memory_used_kb: Math.round(result.memoryUsedKb),
      };
      try {
        const stored = await this.retrying(
          'storing the result',
          () => storeResult(this.db, job.job_id, row),
          signal,
        );
        // One line per finished execution: the fault suite counts them to prove no job ran twice.
        this.opts.log(
          stored
            ? `worker: job ${job.job_id}: ${row.status} stored${rid}`
            : `worker: job ${job.job_id}: ran again, but an earlier result was stored first and stands${rid}`,
        );
      } catch (error) {
        // The program ran: keep its real result for when PostgreSQL is back, never run it again.
        this.pendingResults.set(job.job_id, row);
        throw error;
      }
      this.metrics.executions.inc({ language: job.language, status: result.status });
      this.metrics.duration.observe({ language: job.language }, (performance.now() - started) / 1000);
      // Acknowledged only now that the result is stored.
      this.safe(() => d.ch.ack(d.msg));
    } finally {
      await lock.release();
    }
  }

  /**
   * Takes the job's lock. Held by a live worker (a duplicate delivery): wait until that worker
   * stores the result (→ false, nothing to run) or its lock lapses (→ true); still held after a
   * minute → false as well. Redis down: run
   * anyway — "result stored once" in PostgreSQL still keeps the first result.
   */
  private async acquire(lock: JobLock, jobId: string, signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + 60_000;
    while (!signal.aborted && Date.now() < deadline) {
      try {
        if (await lock.acquire()) return true;
      } catch (error) {
        this.opts.log(
          `worker: redis unavailable for the job lock (${describeError(error)}); running ${jobId} unlocked`,
        );
        return true;
      }
      const row = await this.retrying('reading the job', () => getJob(this.db, jobId), signal);
      if (row && isTerminal(row.status)) return false;
      await sleep(250, signal);
    }
    if (signal.aborted) throw new Error('stopping');
    // Held and renewed for a minute: a live worker owns the job (it stores the result, or the
    // reaper fails it if that worker is lost). Running it here too would run it twice.
    this.opts.log(`worker: job ${jobId} is held by another live worker; leaving it to that worker`);
    return false;
  }

  private scheduleReaper(): void {
    if (this.stopping) return;
    // Jittered, so the replicas of a deployment do not all scan at the same instant.
    const delay = Math.round(this.opts.reaperIntervalMs * (0.75 + Math.random() * 0.5));
    this.reaperTimer = setTimeout(() => {
      this.reaping = this.reap()
        .then(() => {})
        .catch((e) => this.opts.log(`worker: reaper: ${describeError(e)}`))
        .finally(() => {
          this.reaping = undefined;
          this.scheduleReaper();
        });
    }, delay);
    this.reaperTimer.unref();
  }

  /** Stores the outcomes PostgreSQL could not take earlier; keeps those it still cannot. */
  private async flushPending(): Promise<void> {
    for (const [jobId, row] of [...this.pendingResults]) {
      try {
        await storeResult(this.db, jobId, row);
        this.pendingResults.delete(jobId);
        this.opts.log(
          `worker: stored the ${row.status} of job ${jobId} that PostgreSQL could not take earlier`,
        );
      } catch {
        return; // Still down: the next reaper run tries again.
      }
    }
  }

  /**
   * The reaper (docs/stack.md "Faults"): jobs RUNNING or COMPILING well past their time limit
   * whose Redis lock has lapsed have no live worker (it was killed, or their message was
   * dead-lettered): they become INTERNAL_ERROR. Never rerun: a job runs at most once. Without
   * Redis a lapsed lock cannot be told from a live one, so the scan waits for Redis.
   */
  async reap(): Promise<number> {
    await this.flushPending();
    const { rows } = await this.db.query<{ job_id: string; status: string; overdue_s: number }>(
      `SELECT job_id, status::text,
              round(EXTRACT(EPOCH FROM now() - updated_at) - time_limit_ms / 1000.0)::int AS overdue_s
       FROM execution_jobs
       WHERE status IN ('COMPILING', 'RUNNING')
         AND updated_at < now() - (time_limit_ms + $1::int) * interval '1 millisecond'
       ORDER BY updated_at LIMIT 100`,
      [this.opts.reaperGraceMs],
    );
    let reaped = 0;
    for (const r of rows) {
      if ((await this.redis.exists(lockKey(r.job_id))) !== 0) continue;
      const stored = await storeResult(this.db, r.job_id, {
        status: 'INTERNAL_ERROR',
        stdout: '',
        stderr: `sentinel worker: no worker finished this job: it was ${r.status} ${r.overdue_s} s past its time limit with no worker holding it (the worker was lost or its message was dead-lettered); not run again`,
        exit_code: null,
        time_used_ms: 0,
        memory_used_kb: 0,
      });
      if (stored) {
        reaped++;
        this.metrics.reaped.inc();
        this.opts.log(
          `worker: reaper: job ${r.job_id} was ${r.status} with no live worker; marked INTERNAL_ERROR`,
        );
      }
    }
    const conn = this.amqp.current();
    if (conn) {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      try {
        this.metrics.deadLetterDepth.set((await ch.checkQueue(DEAD_LETTER_QUEUE)).messageCount);
      } finally {
        await ch.close().catch(() => {});
      }
    }
    return reaped;
  }

  private startMetricsServer(): Promise<void> {
    this.server = http.createServer(async (req, res) => {
      if (req.url === '/metrics') {
        res.setHeader('content-type', this.metrics.registry.contentType);
        res.end(await this.metrics.registry.metrics());
      } else if (req.url === '/healthz') {
        const ok = this.slots.every((s) => s.consumerTag) && !this.stopping;
        res.statusCode = ok ? 200 : 503;
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            status: ok ? 'ok' : 'degraded',
            consumers: this.slots.filter((s) => s.consumerTag).length,
          }),
        );
      } else {
        res.statusCode = 404;
        res.end('not found\n');
      }
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.metricsPort, this.opts.metricsHost, () => resolve());
    });
  }

  /**
   * SIGTERM: stop taking work, give buffered messages back, let running executions finish for
   * the grace period, then kill them (their messages stay unacked and are redelivered), and close.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.reaperTimer);
    this.opts.log('worker: stopping: no new work; waiting for running executions');
    for (const slot of this.slots) {
      if (slot.ch && slot.consumerTag) await slot.ch.cancel(slot.consumerTag).catch(() => {});
      for (const d of slot.queue.splice(0)) this.safe(() => d.ch.nack(d.msg, false, true));
    }
    this.metrics.workersActive.set(0);
    const running = this.slots.map((s) => s.busy).filter(Boolean);
    const finished = await Promise.race([
      Promise.all(running).then(() => true),
      sleep(this.opts.shutdownGraceMs).then(() => false),
    ]);
    if (!finished) {
      this.opts.log('worker: grace period over; killing running executions (they will be redelivered)');
      for (const slot of this.slots) slot.abort?.abort();
      await Promise.all(running);
    }
    await this.reaping;
    await this.flushPending();
    if (this.pendingResults.size > 0) {
      this.opts.log(
        `worker: ${this.pendingResults.size} results could not be stored (PostgreSQL down); the reaper of the next worker fails those jobs`,
      );
    }
    await this.amqp.close();
    await this.opts.driver.close().catch(() => {});
    await this.db.end().catch(() => {});
    this.redis.disconnect();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.opts.log('worker: stopped');
  }
}
