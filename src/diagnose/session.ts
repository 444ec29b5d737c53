/**
 * Read, plan, show: a session owns one collector per component, samples them all in parallel
 * (each bounded by the timeout, each failing alone), derives facts with rates from the previous
 * sample, runs the rules, and keeps what must survive refreshes: first-seen times of sustained
 * conditions, 5-minute counter windows and the sparkline series.
 */
import type { SentinelConfig } from '../config/schema.js';
import { endpoints } from '../services/endpoints.js';
import { DEAD_LETTER_QUEUE, TASK_QUEUE } from '../services/rabbitmq/topology.js';
import { WORKER_DB_CONNECTIONS_PER_REPLICA } from '../tuners/postgres.js';
import { HostCollector, type HostSample } from './collectors/host.js';
import { PostgresCollector } from './collectors/postgres.js';
import { RabbitCollector } from './collectors/rabbitmq.js';
import { RedisCollector } from './collectors/redis.js';
import { reason, sleep } from './collectors/timeout.js';
import { ApiCollector, WorkerCollector, type WorkerSample } from './collectors/worker.js';
import { countBySeverity, evaluate, nextFirstSeen } from './rules/index.js';
import {
  type Collected,
  type ComponentName,
  componentNames,
  type DiagnoseReport,
  type Facts,
  type RuleContext,
} from './types.js';
import { fromBuckets, type HistoryFile, type HistorySample, windowsFromHistory } from './windows/history.js';
import type { PrometheusWindows } from './windows/prometheus.js';
import type { Windows } from './windows/types.js';

export interface Targets {
  databaseUrl: string;
  rabbitmqUrl: string;
  rabbitmqManagementUrl: string;
  redisUrl: string;
  workerMetricsUrl: string;
  apiUrl: string;
  /** rabbitmq_prometheus base URL, read instead of the management API when that URL is empty. */
  rabbitmqPrometheusUrl?: string;
}

export interface SessionOptions {
  /** Per collector and sample. */
  timeoutMs: number;
  /** Only these components are checked (all when absent). */
  components?: readonly ComponentName[];
  /** The rolling sample file the windows come from (none: this run only). */
  history?: HistoryFile;
  /** A Prometheus server to take the windows from first. */
  prometheus?: PrometheusWindows;
  /**
   * The HTTP transport of the RabbitMQ, worker and API collectors: plain fetch by default, the API
   * server's service proxy for `diagnose --k8s` (src/k8s/dataplane.ts).
   */
  fetch?: typeof globalThis.fetch;
}

/** pgx's `pool_max_conns` from a DATABASE_URL, when it names one. */
export function poolMaxConnsOf(databaseUrl: string): number | undefined {
  const m = /[?&]pool_max_conns=(\d+)/.exec(databaseUrl);
  return m ? Number(m[1]) : undefined;
}

export interface Deployment {
  apiReplicas: number;
  poolMaxConns: number;
  workerReplicas: number;
  workerPoolSize: number;
}

/** The deployment the rules measure against: config values, with pool_max_conns from DATABASE_URL when given there. */
export function deploymentOf(config: SentinelConfig, targets: Targets): Deployment {
  return {
    apiReplicas: config.api.replicas,
    poolMaxConns: poolMaxConnsOf(targets.databaseUrl) ?? config.api.poolMaxConns,
    workerReplicas: config.worker.replicas,
    workerPoolSize: config.worker.poolSize,
  };
}

export function targetsOf(config: SentinelConfig): Targets {
  const e = endpoints(config);
  return {
    databaseUrl: e.databaseUrl,
    rabbitmqUrl: e.rabbitmqUrl,
    rabbitmqManagementUrl: e.rabbitmqManagementUrl,
    redisUrl: e.redisUrl,
    workerMetricsUrl: e.workerMetricsUrl,
    apiUrl: e.apiUrl,
  };
}

interface AnyCollector {
  readonly component: ComponentName;
  readonly target: string;
  sample(timeoutMs: number): Promise<unknown>;
  derive(prev: unknown, cur: unknown): { facts: unknown; notes: string[] };
  close(): Promise<void>;
}

export interface Series {
  /** Task queue depth, publish and deliver rates, PostgreSQL connections, Redis ops/s, CPU. */
  queueDepth: number[];
  publishRate: number[];
  deliverRate: number[];
  pgConnections: number[];
  redisOps: number[];
  cpu: number[];
}

const SERIES_LENGTH = 40;

export class DiagnoseSession {
  private readonly collectors: AnyCollector[];
  private readonly last = new Map<ComponentName, { sample: unknown; at: number }>();
  private readonly results = new Map<ComponentName, Collected<unknown>>();
  private firstSeen: Record<string, number> = {};
  private previousAt: number | undefined;
  readonly series: Series = {
    queueDepth: [],
    publishRate: [],
    deliverRate: [],
    pgConnections: [],
    redisOps: [],
    cpu: [],
  };

  constructor(
    readonly targets: Targets,
    private readonly deployment: Deployment,
    private readonly options: SessionOptions,
  ) {
    const pool =
      deployment.apiReplicas * deployment.poolMaxConns +
      deployment.workerReplicas * WORKER_DB_CONNECTIONS_PER_REPLICA;
    this.collectors = [
      new PostgresCollector({
        databaseUrl: targets.databaseUrl,
        pool: {
          capacity: pool,
          detail: `${deployment.apiReplicas} API × pool_max_conns ${deployment.poolMaxConns} + ${deployment.workerReplicas} worker × ${WORKER_DB_CONNECTIONS_PER_REPLICA}`,
        },
      }),
      new RabbitCollector({
        amqpUrl: targets.rabbitmqUrl,
        managementUrl: targets.rabbitmqManagementUrl,
        knownQueues: [TASK_QUEUE, DEAD_LETTER_QUEUE],
        taskQueue: TASK_QUEUE,
        prometheusUrl: targets.rabbitmqPrometheusUrl,
        fetch: options.fetch,
      }),
      new RedisCollector(targets.redisUrl),
      new WorkerCollector(targets.workerMetricsUrl, options.fetch),
      new ApiCollector(targets.apiUrl, options.fetch),
      new HostCollector(),
    ].filter((c) => !options.components || options.components.includes(c.component));
  }

  /** One sample of one collector; stores the derived facts or the failure. Returns whether it answered. */
  private async sampleOne(c: AnyCollector): Promise<boolean> {
    const t0 = performance.now();
    try {
      const sample = await c.sample(this.options.timeoutMs);
      const ms = Math.round(performance.now() - t0);
      const prev = this.last.get(c.component)?.sample;
      const { facts, notes } = c.derive(prev, sample);
      this.last.set(c.component, { sample, at: Date.now() });
      this.results.set(c.component, { ok: true, target: c.target, ms, facts, notes });
      return true;
    } catch (error) {
      const ms = Math.round(performance.now() - t0);
      this.last.delete(c.component);
      const code = (error as { code?: unknown } | undefined)?.code;
      this.results.set(c.component, {
        ok: false,
        target: c.target,
        ms,
        error: reason(error),
        ...(typeof code === 'string' ? { code } : {}),
      });
      return false;
    }
  }

  /** Samples every collector in parallel, derives facts against the previous refresh and evaluates. */
  async tick(): Promise<DiagnoseReport> {
    const started = performance.now();
    const timings = {} as Record<ComponentName, number>;
    await Promise.all(
      this.collectors.map(async (c) => {
        const t0 = performance.now();
        await this.sampleOne(c);
        timings[c.component] = Math.round(performance.now() - t0);
      }),
    );
    const now = Date.now();
    const windowSeconds = this.previousAt === undefined ? 0 : (now - this.previousAt) / 1000;
    this.previousAt = now;
    return await this.evaluateNow(now, windowSeconds, timings, started);
  }

  /**
   * Two samples per collector, `pauseMs` apart, each collector on its own: a component that hangs
   * costs its timeout while the others take their pause, and is not asked twice.
   */
  async twoSamples(pauseMs: number): Promise<DiagnoseReport> {
    const started = performance.now();
    const timings = {} as Record<ComponentName, number>;
    await Promise.all(
      this.collectors.map(async (c) => {
        const t0 = performance.now();
        const answered = await this.sampleOne(c);
        const first = performance.now() - t0;
        if (answered) {
          await sleep(pauseMs);
          const t1 = performance.now();
          await this.sampleOne(c);
          timings[c.component] = Math.round(first + performance.now() - t1);
        } else {
          timings[c.component] = Math.round(first);
        }
      }),
    );
    const now = Date.now();
    this.previousAt = now;
    return await this.evaluateNow(now, pauseMs / 1000, timings, started);
  }

  private async evaluateNow(
    now: number,
    windowSeconds: number,
    timings: Record<ComponentName, number>,
    started: number,
  ): Promise<DiagnoseReport> {
    const facts = Object.fromEntries(
      componentNames.map((n) => [
        n,
        this.results.get(n) ??
          ({
            ok: false,
            skipped: true,
            target: 'not checked (--components)',
            ms: 0,
            error: 'not checked',
          } as const),
      ]),
    ) as unknown as Facts;
    this.record(facts);
    const windows = await this.windows(facts, now);
    const ctx: RuleContext = {
      now,
      windowSeconds,
      ...this.deployment,
      taskQueue: TASK_QUEUE,
      deadLetterQueue: DEAD_LETTER_QUEUE,
      firstSeen: this.firstSeen,
      windows,
      remote: this.remote,
    };
    const findings = evaluate(facts, ctx);
    this.firstSeen = nextFirstSeen(findings);
    const counts = countBySeverity(findings);
    const cpuHigh = findings.some((f) => f.id === 'host-cpu' && f.severity !== 'info');
    // A subset run (--components) reads the file but does not write it: its skipped components
    // would read as "down" in the next full run's windows.
    const writeProblem = this.options.components
      ? undefined
      : this.options.history?.append({ ...this.historySample(facts, now), cpuHigh });
    if (writeProblem && !windows.note) windows.note = writeProblem;
    return {
      at: new Date(now).toISOString(),
      windowSeconds: Math.round(windowSeconds * 100) / 100,
      healthy: counts.critical === 0,
      counts,
      findings,
      facts,
      windows: {
        source: windows.source,
        historySeconds: Math.round(windows.historySeconds),
        ...(windows.note ? { note: windows.note } : {}),
      },
      timings: { ...timings, total: Math.round(performance.now() - started) },
      targets: Object.fromEntries(componentNames.map((n) => [n, facts[n].target])) as Record<
        ComponentName,
        string
      >,
    };
  }

  /** True when the targets are not this machine's: the host facts then describe sentinel-ctl's machine only. */
  private get remote(): boolean {
    const local = /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/;
    const hosts = [
      this.targets.databaseUrl,
      this.targets.rabbitmqUrl,
      this.targets.redisUrl,
      this.targets.apiUrl,
    ].map((u) => {
      try {
        return new URL(u).hostname;
      } catch {
        return 'localhost';
      }
    });
    return hosts.some((h) => !local.test(h));
  }

  /** The numbers this evaluation adds to the sample file. */
  private historySample(facts: Facts, now: number): HistorySample {
    const task = facts.rabbitmq.ok
      ? facts.rabbitmq.facts.queues.find((q) => q.name === TASK_QUEUE)
      : undefined;
    const worker = facts.worker.ok
      ? (this.last.get('worker')?.sample as WorkerSample | undefined)
      : undefined;
    const host = facts.host.ok ? (this.last.get('host')?.sample as HostSample | undefined) : undefined;
    return {
      at: now,
      queue: task ? task.messages : null,
      workersActive: worker ? (worker.workersActive ?? 0) : null,
      executions: worker ? worker.executionsByStatus : null,
      sandbox: worker ? worker.sandboxFailures : null,
      buckets: worker ? fromBuckets(worker.buckets) : null,
      cpu: host
        ? {
            used: host.cpuUsedSeconds,
            total: host.cpuTotalSeconds ?? (host.at / 1000) * host.cpus,
          }
        : null,
    };
  }

  /**
   * The windows: Prometheus first when one is configured, the sample file for what it does not
   * answer (and for the CPU, which the stack's Prometheus does not scrape).
   */
  private async windows(facts: Facts, now: number): Promise<Windows> {
    const history = this.options.history;
    const samples = history
      ? [...history.all, this.historySample(facts, now)]
      : [this.historySample(facts, now)];
    const local = windowsFromHistory(samples, now);
    if (history?.problem) local.note = history.problem;
    if (!history) local.note = 'no state directory: windows cover this run only';
    const prom = this.options.prometheus;
    if (!prom) return local;
    try {
      const p = await prom.windows(now, this.options.timeoutMs);
      return {
        ...p,
        backlog: p.backlog ?? local.backlog,
        workerDown: p.workerDown ?? local.workerDown,
        workerUnreachable: p.workerUnreachable ?? local.workerUnreachable,
        executions: p.executions ?? local.executions,
        sandboxFailures: p.sandboxFailures ?? local.sandboxFailures,
        duration: p.duration ?? local.duration,
        cpu: local.cpu,
      };
    } catch (error) {
      return {
        ...local,
        note: `Prometheus ${prom.target} did not answer (${reason(error)}); windows from the ${local.source}`,
      };
    }
  }

  /** Keeps the sparkline series. */
  private record(facts: Facts): void {
    const push = (arr: number[], v: number | null | undefined) => {
      arr.push(v ?? 0);
      if (arr.length > SERIES_LENGTH) arr.shift();
    };
    const task = facts.rabbitmq.ok
      ? facts.rabbitmq.facts.queues.find((q) => q.name === TASK_QUEUE)
      : undefined;
    push(this.series.queueDepth, task?.messages);
    push(this.series.publishRate, facts.rabbitmq.ok ? facts.rabbitmq.facts.publishRate : null);
    push(this.series.deliverRate, facts.rabbitmq.ok ? facts.rabbitmq.facts.deliverRate : null);
    push(this.series.pgConnections, facts.postgres.ok ? facts.postgres.facts.connections.total : null);
    push(this.series.redisOps, facts.redis.ok ? facts.redis.facts.opsPerSec : null);
    push(
      this.series.cpu,
      facts.host.ok && facts.host.facts.cpuUsage !== null ? facts.host.facts.cpuUsage * 100 : null,
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.collectors.map((c) => c.close().catch(() => {})));
  }
}

export interface OnceOptions {
  /** Milliseconds between the two samples rates come from. */
  sampleIntervalMs: number;
}

/**
 * One report (--once, --json): two samples of each component `sampleIntervalMs` apart, so rates
 * come from a real window; a component that does not answer the first time is not asked again.
 * Timings are the collector's own time (both samples, the pause excluded).
 */
export async function diagnoseOnce(session: DiagnoseSession, options: OnceOptions): Promise<DiagnoseReport> {
  return session.twoSamples(options.sampleIntervalMs);
}
