import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ReconnectingAmqp } from '../clients/amqp.js';
import { sleep } from '../clients/backoff.js';
import { parseJobMessage } from '../jobs/message.js';
import {
  claimJob,
  ensureJob,
  getJob,
  isTerminal,
  pgSafeText,
  setRunningStatus,
  storeResult,
  type TerminalStatus,
} from '../jobs/repository.js';
import { describeError } from '../lib/errors.js';
import { pgClientUrl } from '../services/endpoints.js';
import { declareTopology, TASK_QUEUE } from '../services/rabbitmq/topology.js';
import { JobLock } from './lock.js';
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
  log: (message: string) => void;
}

interface Delivery {
  ch: amqp.Channel;
  msg: amqp.ConsumeMessage;
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

  constructor(private readonly opts: WorkerOptions) {
    this.db = new pg.Pool({ connectionString: pgClientUrl(opts.databaseUrl), max: opts.poolSize + 2 });
    this.db.on('error', (e) => opts.log(`postgres: idle client error: ${describeError(e)}`));
    this.redis = new Redis(opts.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
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
        // Infrastructure trouble (PostgreSQL, Redis): give the message back; the quorum queue's
        // delivery limit dead-letters it if this keeps happening.
        this.opts.log(`worker: job failed on infrastructure, requeueing: ${describeError(error)}`);
        await sleep(500);
        this.safe(() => d.ch.nack(d.msg, false, true));
      } finally {
        slot.abort = undefined;
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
      if (parsed.jobId && /^[0-9a-f-]{36}$/i.test(parsed.jobId)) {
        await storeResult(this.db, parsed.jobId, {
          status: 'INTERNAL_ERROR',
          stdout: '',
          stderr: `sentinel worker: cannot process this job: ${parsed.reason}`,
          exit_code: null,
          time_used_ms: 0,
          memory_used_kb: 0,
        }).catch(() => {});
      }
      this.deadLetter(d, 'invalid', parsed.reason);
      return;
    }
    const job = parsed.job;
    const lock = new JobLock(this.redis, job.job_id, `${this.instance}:${slot.index}`);
    if (!(await this.acquire(lock, job.job_id, signal))) {
      this.metrics.duplicates.inc();
      this.safe(() => d.ch.ack(d.msg));
      return;
    }
    try {
      // One round trip in the common case: claim the row (COMPILING for C++, RUNNING for Python).
      const first = job.language === 'cpp' ? 'COMPILING' : 'RUNNING';
      let status = await claimJob(this.db, job.job_id, first);
      if (status === undefined) {
        // Published by another producer without a row: create it, then claim it.
        await ensureJob(this.db, job);
        status = await claimJob(this.db, job.job_id, first);
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
              phase === first ? undefined : setRunningStatus(this.db, job.job_id, phase).then(() => {}),
          },
        );
      } finally {
        this.metrics.inProgress.dec();
      }
      if (signal.aborted) return; // Shutdown killed it: not stored, not acked → redelivered.
      if (result.status === 'INTERNAL_ERROR' && result.sandboxFailure) this.metrics.sandboxFailures.inc();
      await storeResult(this.db, job.job_id, {
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
      });
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
   * stores the result (→ false, nothing to run) or its lock lapses (→ true). Redis down: run
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
      const row = await getJob(this.db, jobId);
      if (row && isTerminal(row.status)) return false;
      await sleep(250, signal);
    }
    throw new Error(`job ${jobId} stayed locked by another worker for 60 s`);
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
    await this.amqp.close();
    await this.opts.driver.close().catch(() => {});
    await this.db.end().catch(() => {});
    this.redis.disconnect();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.opts.log('worker: stopped');
  }
}
