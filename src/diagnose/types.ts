/**
 * The data `diagnose` moves around: what each collector measured (facts), how long it took, and the
 * findings the rules derive from the facts. Facts are plain JSON so `--json` can print them as they are.
 */
import type { Source } from '../tuners/types.js';
import type { WindowSource, Windows } from './windows/types.js';

export type { Source };

export const componentNames = ['postgres', 'rabbitmq', 'redis', 'worker', 'api', 'host'] as const;
export type ComponentName = (typeof componentNames)[number];

export const severities = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof severities)[number];

/** One collector's outcome: its facts, or why it could not get them. Either way, how long it took. */
export type Collected<T> =
  | { ok: true; target: string; ms: number; facts: T; notes: string[] }
  | { ok: false; target: string; ms: number; error: string; code?: string; skipped?: true };

export interface PgSession {
  pid: number;
  user: string | null;
  application: string | null;
  state: string | null;
  /** Seconds since the transaction (idle in transaction) or the query (active) started. */
  seconds: number;
  waitEvent: string | null;
  query: string;
  blockedBy?: number[];
}

export interface PostgresFacts {
  version: string;
  maxConnections: number;
  superuserReservedConnections: number;
  /** Client backends, ours excluded. */
  connections: {
    total: number;
    byState: Record<string, number>;
    appUser: string;
    appTotal: number;
    appInUse: number;
    /** The API's own sessions (application_name sentinel-api), when it names them. */
    api: { application: string; total: number; inUse: number } | null;
  };
  /** The configured pools the connections are measured against (api replicas × pool_max_conns + workers). */
  pool: { capacity: number; detail: string };
  idleInTransaction: PgSession[];
  longRunning: PgSession[];
  blocked: PgSession[];
  /** Buffer cache: blocks found in shared_buffers vs read, over the sample window (null without a window). */
  cache: { hitRatio: number | null; blocks: number; lifetimeHitRatio: number | null };
  commitsPerSec: number | null;
  rollbacksPerSec: number | null;
  deadlocksInWindow: number | null;
  statStatements:
    | {
        available: true;
        top: Array<{ query: string; calls: number; meanMs: number; maxMs: number; totalMs: number }>;
        /**
         * Statements by mean time over the window (calls and time added between the two samples),
         * null without a window: what is slow now, not what was slow once since the last reset.
         */
        window: Array<{ query: string; calls: number; meanMs: number }> | null;
      }
    | { available: false; reason: string };
  unusedIndexes: Array<{
    table: string;
    index: string;
    sizeBytes: number;
    tableScans: number;
    tableBytes: number;
  }>;
  bloat: Array<{
    table: string;
    live: number;
    dead: number;
    deadRatio: number;
    lastAutovacuum: string | null;
  }>;
  /** Jobs in execution_jobs still QUEUED, when the table exists. */
  queuedJobs: { count: number; oldestSeconds: number | null } | null;
  /**
   * Jobs RUNNING/COMPILING past their time limit plus the reaper's default grace (60 s): the
   * worker's reaper fails those, so any left mean no worker (or no reaper) is running.
   */
  stuckJobs?: { count: number; oldestSeconds: number | null } | null;
}

export interface QueueFacts {
  name: string;
  type: string | null;
  messages: number;
  ready: number;
  unacked: number;
  consumers: number;
  /** 0..1: share of time the queue could hand a message to a consumer at once (null when unknown). */
  consumerUtilisation: number | null;
  publishRate: number | null;
  deliverRate: number | null;
  ackRate: number | null;
  /** Change of depth per second as the broker measured it. */
  depthRate: number | null;
  /** The broker's own depth samples over the last 5 min (oldest first), when it keeps them. */
  depthSamples: Array<{ at: number; messages: number }>;
  /**
   * Consumers as a passive queue declare counts them, asked only when the management API says
   * there are none while messages wait (its statistics lag a consumer that just attached).
   */
  consumersConfirmed?: number;
  /** Depth change seen between this run's own two reads of the queue (null with one read). */
  depthChange?: { from: number; to: number; seconds: number } | null;
}

export interface RabbitFacts {
  /**
   * `management` (full facts), `amqp` (depth and consumers only: the management API was unreachable)
   * or `prometheus` (rabbitmq_prometheus: depth, consumers, alarms, broker-wide rates; `diagnose --k8s`).
   */
  via: 'management' | 'amqp' | 'prometheus';
  version: string | null;
  queues: QueueFacts[];
  publishRate: number | null;
  deliverRate: number | null;
  ackRate: number | null;
  nodes: Array<{
    name: string;
    memUsed: number;
    memLimit: number;
    memAlarm: boolean;
    diskFree: number;
    diskFreeLimit: number;
    diskAlarm: boolean;
    fdUsed: number | null;
    fdTotal: number | null;
  }>;
  /** Why the management API was not used, when via = amqp. */
  managementError?: string;
}

export interface RedisFacts {
  version: string;
  usedMemory: number;
  maxmemory: number;
  maxmemoryPolicy: string;
  fragmentationRatio: number | null;
  connectedClients: number;
  blockedClients: number;
  /** Lifetime counters, and their increase over the window (null without a window). */
  rejectedConnections: number;
  rejectedInWindow: number | null;
  evictedKeys: number;
  evictedInWindow: number | null;
  errorRepliesInWindow: number | null;
  /** Error replies by kind (errorstat_*), lifetime. */
  errorStats: Record<string, number>;
  /** Error replies by kind over the window (null without a window). */
  errorStatsInWindow: Record<string, number> | null;
  hitsInWindow: number | null;
  missesInWindow: number | null;
  /** hits / (hits + misses) over the window; null when no lookup happened in it. */
  hitRate: number | null;
  lifetimeHitRate: number | null;
  opsPerSec: number | null;
  keys: number;
  /** PING round trips, ms. */
  latencyMs: { min: number; avg: number; max: number; samples: number };
}

export interface DurationPercentiles {
  count: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** `window` when computed from the increase of the buckets over the sample window, else `lifetime`. */
  over: 'window' | 'lifetime';
}

export interface WorkerFacts {
  /** Lifetime totals by terminal status (summed over languages). */
  executionsByStatus: Record<string, number>;
  /** Increase by status over the window (null without a window). */
  executionsInWindow: Record<string, number> | null;
  duration: DurationPercentiles;
  durationByLanguage: Record<string, DurationPercentiles>;
  workersActive: number | null;
  poolSize: number | null;
  inProgress: number | null;
  sandboxFailures: number | null;
  sandboxFailuresInWindow: number | null;
  /** The sandbox driver the worker reports ("nsjail (cgroups v1)"); null when it does not say. */
  sandbox: string | null;
  /** Messages the worker dead-lettered, by reason (lifetime, and over the window). */
  deadLettered: Record<string, number>;
  deadLetteredInWindow: Record<string, number> | null;
  /** CPU the worker process used, in cores (null without a window or the metric). */
  processCpuCores: number | null;
  residentMemoryBytes: number | null;
}

export interface ApiFacts {
  status: string;
  httpStatus: number;
  services: Record<string, string>;
  latencyMs: number;
  /**
   * From the API's own /metrics over the window (submit and get routes; health and metrics
   * excluded): requests by status code and latency percentiles. Null when it has none.
   */
  requests: {
    total: number;
    byCode: Record<string, number>;
    p95Ms: number | null;
    p99Ms: number | null;
    seconds: number;
  } | null;
}

export interface HostFacts {
  /** What the numbers describe: the cgroup limits when the process has them, else the machine. */
  scope: 'container' | 'host';
  cpus: number;
  load1: number;
  load5: number;
  /** 0..1 of the CPUs above, over the window (null without a window). */
  cpuUsage: number | null;
  memoryUsed: number;
  memoryLimit: number;
  /** Kernel OOM kills: lifetime, and the increase over the window. */
  oomKills: number | null;
  oomKillsInWindow: number | null;
  oomSource: 'cgroup' | 'vmstat' | null;
}

export interface Facts {
  postgres: Collected<PostgresFacts>;
  rabbitmq: Collected<RabbitFacts>;
  redis: Collected<RedisFacts>;
  worker: Collected<WorkerFacts>;
  api: Collected<ApiFacts>;
  host: Collected<HostFacts>;
}

/** One problem (or observation) with the numbers that show it and what to do about it. */
export interface Finding {
  /** Stable id of the rule, e.g. `queue-backlog`. */
  id: string;
  component: ComponentName;
  severity: Severity;
  title: string;
  /** The numbers that fired the rule, named. */
  evidence: Record<string, number | string | boolean | null>;
  /** The evidence as a sentence a person reads. */
  detail: string;
  /** What is most likely the bottleneck. */
  bottleneck: string;
  fix: string;
  /** The sentinel-ctl command that applies the fix, when there is one. */
  command?: string;
  source: Source;
  /** When the condition was first seen (ISO time), for conditions that must hold for a while. */
  since?: string;
}

/** What the rules know besides the facts: the configured deployment and the thresholds. */
export interface RuleContext {
  /** Wall-clock time of the evaluation (ms since epoch). */
  now: number;
  /** Seconds between the two samples the rates come from (0 when there was one sample). */
  windowSeconds: number;
  apiReplicas: number;
  poolMaxConns: number;
  workerReplicas: number;
  workerPoolSize: number;
  taskQueue: string;
  deadLetterQueue: string;
  /** First time each sustained condition was seen (rule id → ms since epoch), kept across refreshes. */
  firstSeen: Record<string, number>;
  /** The windows of the guides' "for 5m" alerts: Prometheus, the sample file, or this run only. */
  windows: Windows;
  /** The targets are on other machines: host findings describe sentinel-ctl's machine, not theirs. */
  remote?: boolean;
}

export interface DiagnoseReport {
  at: string;
  windowSeconds: number;
  healthy: boolean;
  counts: Record<Severity, number>;
  findings: Finding[];
  facts: Facts;
  /** Where the windowed rules' history came from and how far back it reached. */
  windows: { source: WindowSource; historySeconds: number; note?: string };
  /** Milliseconds each collector took (both samples), and the whole run. */
  timings: Record<ComponentName, number> & { total: number };
  targets: Record<ComponentName, string>;
  /** `diagnose --k8s`: the namespace's pods and their events, for the interactive view's pane. */
  kubernetes?: KubernetesView;
}

/** One pod as `kubectl get pods` shows it, plus its last termination. */
export interface PodRow {
  name: string;
  /** Phase, or the reason that matters more (CrashLoopBackOff, OOMKilled, Unschedulable…). */
  status: string;
  severity: Severity | null;
  ready: string;
  restarts: number;
  /** "OOMKilled (137)" or null. */
  lastTermination: string | null;
  /** Seconds since that termination. */
  lastTerminationSeconds: number | null;
  /** Seconds since creation. */
  ageSeconds: number | null;
  containers: Array<{
    name: string;
    state: string;
    restarts: number;
    lastTermination: string | null;
    requests: string | null;
    limits: string | null;
  }>;
  /** Why the scheduler could not place it (Pending). */
  scheduling: string | null;
}

export interface PodEvent {
  /** The Event object's name (unique in the namespace). */
  name: string;
  type: string;
  reason: string;
  message: string;
  count: number;
  /** Seconds since it was last seen. */
  ageSeconds: number | null;
}

export interface KubernetesView {
  context: string;
  namespace: string;
  pods: PodRow[];
  /** Events by pod name, newest first. */
  events: Record<string, PodEvent[]>;
}
