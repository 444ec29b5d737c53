/**
 * Facts from a running stack (`--live`): PostgreSQL's connection settings, the worker's execution
 * duration histogram from /metrics, the task queue from the RabbitMQ management API, and Redis'
 * key count with bytes per key measured by sampling `MEMORY USAGE` (the guide's ~200 B is an
 * estimate; docs/design.md "Tuners": measure instead of assuming).
 *
 * Each part is bounded by a timeout and fails alone: a stack without a worker still gives its
 * PostgreSQL settings. Clients load only here, so commands without `--live` never import them.
 */

import { histogramBuckets, parseMetrics, sumOf } from '../clients/prometheus.js';
import { managementRequest, vhostOf } from '../clients/rabbitmq-management.js';
import { describeError } from '../lib/errors.js';
import { maskUrl } from '../lib/redact.js';
import { type Endpoints, pgClientUrl } from '../services/endpoints.js';
import { type ExecutionStats, type HistogramBucket, summarizeExecutionTimes } from '../tuners/index.js';

export interface LiveOptions {
  endpoints: Endpoints;
  timeoutMs: number;
  taskQueue: string;
  /** Most keys whose MEMORY USAGE is sampled. */
  sampleKeys: number;
  /**
   * When the endpoints are the local stack's own (no DATABASE_URL etc. pointing elsewhere), the
   * settings it was started with: they describe the API and worker that really run there.
   */
  local?: LocalStackSettings;
}

/** What `sentinel-ctl up` runs the local API and worker with (from the loaded config). */
export interface LocalStackSettings {
  source: string;
  apiReplicas: number;
  workerReplicas: number;
  workerPoolSize: number;
  workerPrefetch: number;
  writeTimeoutMs: number;
  rateLimitPerMinute: number;
  consumerTimeoutMs: number;
  channelMax: number;
}

type Part<T> = ({ ok: true } & T) | { ok: false; error: string };

export interface LivePostgres {
  version: string;
  maxConnections: number;
  superuserReservedConnections: number;
  /** PostgreSQL 16+ reserved_connections; absent before 16. */
  reservedConnections?: number;
}

export interface LiveWorker {
  buckets: HistogramBucket[];
  stats?: ExecutionStats;
  poolSize?: number;
}

export interface LiveQueue {
  name: string;
  ready: number;
  unacked: number;
  consumers: number;
}

export interface LiveRabbit {
  version?: string;
  queue?: LiveQueue;
  diskFreeLimitBytes?: number;
  memLimitBytes?: number;
}

export interface LiveRedis {
  keys: number;
  /** Keys whose MEMORY USAGE was read. */
  sampled: number;
  /** Mean MEMORY USAGE of the sample, rounded up to a whole byte; absent with an empty keyspace. */
  bytesPerKey?: number;
  /** 0 means no limit. */
  maxmemory?: number;
  maxmemoryPolicy?: string;
  usedMemory?: number;
}

export interface LiveReport {
  /** The DATABASE_URL read; holds the password, so it is not enumerable (`targets` has it masked). */
  readonly databaseUrl: string;
  targets: { postgres: string; worker: string; rabbitmq: string; redis: string };
  postgres: Part<LivePostgres>;
  worker: Part<LiveWorker>;
  rabbitmq: Part<LiveRabbit>;
  redis: Part<LiveRedis>;
}

/** Rejects after `ms`, so a silent server cannot hold the command. */
async function bounded<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
    timer.unref();
  });
  const running = work(controller.signal);
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
    running.catch(() => {});
  }
}

async function part<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, ...(await bounded(ms, work)) };
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    const text =
      error instanceof Error && error.message === 'fetch failed' && cause
        ? describeError(cause)
        : describeError(error);
    return { ok: false, error: text };
  }
}

/** SHOW max_connections and the reserved slots (reserved_connections exists from PostgreSQL 16). */
export async function livePostgres(databaseUrl: string, timeoutMs: number): Promise<LivePostgres> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    connectionString: pgClientUrl(databaseUrl),
    connectionTimeoutMillis: timeoutMs,
    application_name: 'sentinel-ctl tune',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query(
      `SELECT current_setting('server_version') AS version,
              current_setting('server_version_num')::int AS num,
              current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int AS su,
              current_setting('reserved_connections', true) AS rc`,
    );
    const row = r.rows[0] as { version: string; num: number; max: number; su: number; rc: string | null };
    const out: LivePostgres = {
      version: String(row.version).split(' ')[0]!,
      maxConnections: row.max,
      superuserReservedConnections: row.su,
    };
    if (row.num >= 160000 && row.rc !== null) out.reservedConnections = Number(row.rc);
    return out;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The worker's /metrics: the execution duration histogram over every language, and the pool gauge. */
export async function liveWorker(url: string, signal: AbortSignal): Promise<LiveWorker> {
  const res = await fetch(url, { signal });
  if (!res.ok) throw new Error(`GET ${maskUrl(url)} → HTTP ${res.status}`);
  const m = parseMetrics(await res.text());
  const buckets = histogramBuckets(m, 'sentinel_execution_duration_seconds');
  const out: LiveWorker = { buckets };
  if (buckets.length > 0) {
    const stats = summarizeExecutionTimes({ kind: 'histogram', buckets });
    if (stats) out.stats = stats;
  }
  const pool = sumOf(m, 'sentinel_worker_pool_size');
  if (pool !== undefined) out.poolSize = pool;
  return out;
}

/** The task queue's depth and consumers, and the node's disk and memory limits, from the management API. */
export async function liveRabbit(
  managementUrl: string,
  amqpUrl: string,
  queue: string,
  signal: AbortSignal,
): Promise<LiveRabbit> {
  const { base, headers } = managementRequest(managementUrl);
  const get = async (p: string): Promise<unknown> => {
    const res = await fetch(`${base}${p}`, { headers, signal });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`GET ${p} → HTTP ${res.status}`);
    return res.json();
  };
  const vhost = encodeURIComponent(vhostOf(amqpUrl));
  const [overview, nodes, q] = (await Promise.all([
    get('/api/overview'),
    get('/api/nodes'),
    get(`/api/queues/${vhost}/${encodeURIComponent(queue)}`),
  ])) as [
    Record<string, unknown> | undefined,
    Array<Record<string, unknown>> | undefined,
    Record<string, unknown> | undefined,
  ];
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const out: LiveRabbit = {};
  if (typeof overview?.rabbitmq_version === 'string') out.version = overview.rabbitmq_version;
  if (q) {
    out.queue = {
      name: queue,
      ready: num(q.messages_ready) ?? 0,
      unacked: num(q.messages_unacknowledged) ?? 0,
      consumers: num(q.consumers) ?? 0,
    };
  }
  const node = nodes?.[0];
  if (node) {
    const disk = num(node.disk_free_limit);
    const mem = num(node.mem_limit);
    if (disk !== undefined) out.diskFreeLimitBytes = disk;
    if (mem !== undefined) out.memLimitBytes = mem;
  }
  return out;
}

/** Rounds of SCAN at most, so a huge keyspace costs a bounded number of round trips. */
const MAX_SCAN_ROUNDS = 50;

/**
 * DBSIZE, the memory settings, and bytes per key from MEMORY USAGE over a sample of up to
 * `sampleKeys` keys found with SCAN (bounded in rounds). `SAMPLES 0` measures nested values fully.
 */
export async function liveRedis(url: string, timeoutMs: number, sampleKeys: number): Promise<LiveRedis> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    lazyConnect: true,
    connectionName: 'sentinel-ctl-tune',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const keys = await client.dbsize();
    const out: LiveRedis = { keys, sampled: 0 };
    try {
      const [, max] = (await client.config('GET', 'maxmemory')) as [string, string];
      const [, policy] = (await client.config('GET', 'maxmemory-policy')) as [string, string];
      if (max !== undefined) out.maxmemory = Number(max);
      if (policy !== undefined) out.maxmemoryPolicy = policy;
    } catch {
      // CONFIG may be renamed or disabled on managed Redis; INFO still gives used_memory.
    }
    const info = await client.info('memory');
    const used = /^used_memory:(\d+)/m.exec(info)?.[1];
    if (used !== undefined) out.usedMemory = Number(used);
    const sample: string[] = [];
    let cursor = '0';
    for (let round = 0; round < MAX_SCAN_ROUNDS && sample.length < sampleKeys; round++) {
      const [next, batch] = await client.scan(cursor, 'COUNT', 100);
      for (const k of batch) if (sample.length < sampleKeys && !sample.includes(k)) sample.push(k);
      cursor = next;
      if (cursor === '0') break;
    }
    if (sample.length > 0) {
      const pipeline = client.pipeline();
      for (const k of sample) pipeline.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
      const results = (await pipeline.exec()) ?? [];
      const sizes = results
        .map(([err, v]) => (err || v === null ? undefined : Number(v)))
        .filter((v): v is number => v !== undefined);
      out.sampled = sizes.length;
      if (sizes.length > 0) out.bytesPerKey = Math.ceil(sizes.reduce((a, b) => a + b, 0) / sizes.length);
    }
    return out;
  } finally {
    client.disconnect();
  }
}

/** Collects every part in parallel, each within the timeout. */
export async function collectLive(o: LiveOptions): Promise<LiveReport> {
  const e = o.endpoints;
  const t = o.timeoutMs;
  const [postgres, worker, rabbitmq, redis] = await Promise.all([
    part(t, () => livePostgres(e.databaseUrl, t)),
    part(t, (signal) => liveWorker(e.workerMetricsUrl, signal)),
    part(t, (signal) => liveRabbit(e.rabbitmqManagementUrl, e.rabbitmqUrl, o.taskQueue, signal)),
    part(t, () => liveRedis(e.redisUrl, t, o.sampleKeys)),
  ]);
  const report = {
    targets: {
      postgres: maskUrl(e.databaseUrl),
      worker: maskUrl(e.workerMetricsUrl),
      rabbitmq: maskUrl(e.rabbitmqManagementUrl),
      redis: maskUrl(e.redisUrl),
    },
    postgres,
    worker,
    rabbitmq,
    redis,
  } as LiveReport;
  // Holds a password: kept off JSON.stringify and console.log.
  Object.defineProperty(report, 'databaseUrl', { value: e.databaseUrl, enumerable: false });
  return report;
}
