/**
 * Contradictions between components, as pure functions over `TuningFacts`: the one registry of
 * checks `tune check` and `generate k8s` run (`checks` below).
 *
 * Each check either returns its findings (possibly none: the check ran and passed) or says which
 * facts it needed and did not have, so the output can tell "passed" from "could not check".
 * A missing fact with a well-known default (PostgreSQL's superuser_reserved_connections 3, RabbitMQ's
 * consumer_timeout 30 min and channel_max 2047, the guide's +10 overhead and 2 connections per worker)
 * is filled with that default, marked `from: 'default'` in the evidence.
 */

import { type Fact, fact, type TuningFacts } from './facts.js';
import { effectiveProtocol, RABBITMQ_DEFAULT_CHANNEL_MAX } from './keda.js';
import { PGX_DEFAULT_MIN_MAX_CONNS, SARK_CONNECTIONS_PER_POD_MAX } from './pg-pool.js';
import {
  connectionDemand,
  PG_CONNECTION_OVERHEAD,
  PG_DEFAULT_SUPERUSER_RESERVED,
  WORKER_DB_CONNECTIONS_PER_REPLICA,
} from './postgres.js';
import { DEFAULT_CONSUMER_TIMEOUT_MS, prefetchFitsConsumerTimeout } from './rabbitmq.js';
import { ESTIMATED_BYTES_PER_KEY, REDIS_MEMORY_TARGET } from './redis.js';
import { classifyRedisMemory } from './resource-targets.js';
import { type Finding, num, sources } from './types.js';
import { formatByteSize, formatCpu, formatGoDuration, formatMemory } from './units.js';
import {
  CPU_REQUEST_PER_WORKER_MILLICORES,
  MEMORY_REQUEST_PER_WORKER,
  SANDBOX_MAX_MEMORY,
  workerPoolSize,
} from './worker-pool.js';

export type CheckOutcome = { findings: Finding[] } | { missing: string[] };

export interface CheckDefinition {
  id: string;
  /** One line: what the check compares. */
  title: string;
  run: (facts: TuningFacts) => CheckOutcome;
}

export interface CheckReport {
  findings: Finding[];
  /** Checks that ran and found nothing. */
  passed: string[];
  /** Checks that could not run, with the facts they lacked (dotted paths into TuningFacts). */
  skipped: Array<{ id: string; missing: string[] }>;
}

const ok: CheckOutcome = { findings: [] };

function missing(entries: Record<string, unknown>): string[] {
  return Object.entries(entries)
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
}

function orDefault<T>(f: Fact<T> | undefined, value: T, detail: string): Fact<T> {
  return f ?? fact(value, 'default', detail);
}

function superuserReserved(facts: TuningFacts): Fact<number> {
  return orDefault(
    facts.postgres?.superuserReservedConnections,
    PG_DEFAULT_SUPERUSER_RESERVED,
    'PostgreSQL default',
  );
}

/** Peak worker replicas: KEDA's maxReplicaCount when KEDA scales them, else the Deployment's replicas. */
function peakWorkerReplicas(facts: TuningFacts): Fact<number> | undefined {
  return facts.keda?.maxReplicaCount ?? facts.worker?.replicas;
}

/** The pool each API replica really opens: pool_max_conns, or pgx's max(4, NumCPU) when unset. */
function apiPool(facts: TuningFacts): { pool: Fact<number>; implicit: boolean } | undefined {
  const p = facts.api?.poolMaxConns;
  if (p && p.value !== null) return { pool: p as Fact<number>, implicit: false };
  const numCpu = facts.api?.numCpu;
  if (p && p.value === null && numCpu) {
    return {
      pool: fact(
        Math.max(PGX_DEFAULT_MIN_MAX_CONNS, numCpu.value),
        numCpu.from,
        `pgx default max(4, NumCPU) from ${numCpu.detail}`,
      ),
      implicit: true,
    };
  }
  return undefined;
}

/** Sum of every pool against what max_connections leaves the application roles. */
export function checkPoolsVsMaxConnections(facts: TuningFacts): CheckOutcome {
  const max = facts.postgres?.maxConnections;
  const apiReplicas = facts.api?.replicas;
  const pool = apiPool(facts);
  const workers = peakWorkerReplicas(facts);
  const lack = missing({
    'postgres.maxConnections': max,
    'api.replicas': apiReplicas,
    'api.poolMaxConns': pool,
    'keda.maxReplicaCount|worker.replicas': workers,
  });
  if (lack.length > 0 || !max || !apiReplicas || !pool || !workers) return { missing: lack };
  const su = superuserReserved(facts);
  const rc = facts.postgres?.reservedConnections?.value ?? 0;
  const perWorker = orDefault(
    facts.worker?.dbConnectionsPerReplica,
    WORKER_DB_CONNECTIONS_PER_REPLICA,
    'the guide: 2 per worker replica',
  );
  // With KEDA the executions (maxReplicaCount × WORKER_POOL_SIZE) are open while the API pools are:
  // the same sum as the max_connections tuner (postgres.ts connectionDemand).
  const maxReplicas = facts.keda?.maxReplicaCount;
  const poolSize = facts.worker?.poolSize;
  const keda =
    maxReplicas && poolSize
      ? { maxReplicaCount: maxReplicas.value, workerPoolSize: poolSize.value }
      : undefined;
  const demand = connectionDemand({
    apiReplicas: apiReplicas.value,
    apiPoolMaxConns: pool.pool.value,
    workerReplicas: workers.value,
    workerConnsPerReplica: perWorker.value,
    ...(keda ? { keda } : {}),
  });
  const sum = demand.total;
  const usable = max.value - su.value - rc;
  if (sum <= usable) return ok;
  const reservedText = `${su.value} superuser_reserved_connections${rc > 0 ? ` − ${rc} reserved_connections` : ''}`;
  const fitPool = Math.floor((usable - demand.workers - demand.overhead) / apiReplicas.value);
  const poolName = pool.implicit ? 'the pgx default pool' : 'pool_max_conns';
  const workersText = keda
    ? `max(${Math.max(workers.value, keda.maxReplicaCount)} × ${perWorker.value}, ${keda.maxReplicaCount} × ${keda.workerPoolSize} executions)`
    : `${workers.value} × ${perWorker.value}`;
  const evidence: Record<string, Fact<unknown>> = {
    'postgres.maxConnections': max,
    'postgres.superuserReservedConnections': su,
    'api.replicas': apiReplicas,
    'api.poolMaxConns': pool.pool,
    workerReplicas: workers,
    'worker.dbConnectionsPerReplica': perWorker,
  };
  if (keda && poolSize) evidence['worker.poolSize'] = poolSize;
  return {
    findings: [
      {
        id: 'pools-vs-max-connections',
        severity: 'error',
        message:
          `API ${apiReplicas.value} × ${pool.pool.value}${pool.implicit ? ' (pgx default)' : ''} + workers ${workersText} + overhead ${demand.overhead} = ${sum} connections, ` +
          `but max_connections ${max.value} − ${reservedText} = ${usable} are usable.`,
        fix:
          `Raise max_connections to ≥ ${sum + su.value + rc}` +
          (fitPool >= 1 ? `, or lower ${poolName} to ${fitPool} per API replica` : '') +
          ' (sentinel-ctl tune pool --write).',
        source: demand.kedaWins ? sources.kedaMaxWorkers : sources.pgxRecommendations,
        evidence,
      },
    ],
  };
}

/** DATABASE_URL without pool_max_conns: pgx's default multiplies across replicas. */
export function checkPgxPoolExplicit(facts: TuningFacts): CheckOutcome {
  const p = facts.api?.poolMaxConns;
  if (!p) return { missing: ['api.poolMaxConns'] };
  if (p.value !== null) return ok;
  const numCpu = facts.api?.numCpu;
  const replicas = facts.api?.replicas;
  const per = numCpu ? Math.max(PGX_DEFAULT_MIN_MAX_CONNS, numCpu.value) : undefined;
  const numbers =
    per === undefined
      ? 'max(4, NumCPU) per replica, where NumCPU is the node’s CPU count'
      : `max(4, ${numCpu!.value}) = ${per} per replica${replicas ? `, ${replicas.value * per} across ${replicas.value} replicas` : ''}`;
  const evidence: Record<string, Fact<unknown>> = { 'api.poolMaxConns': p };
  if (numCpu) evidence['api.numCpu'] = numCpu;
  if (replicas) evidence['api.replicas'] = replicas;
  return {
    findings: [
      {
        id: 'pgx-pool-implicit',
        severity: 'warning',
        message: `DATABASE_URL (${p.detail}) sets no pool_max_conns, so pgx opens ${numbers}.`,
        fix: 'Write pool_max_conns and pool_min_conns into DATABASE_URL (sentinel-ctl tune pool --write).',
        source: sources.pgxDefaults,
        evidence,
      },
    ],
  };
}

/** Every possible execution (maxReplicaCount × WORKER_POOL_SIZE) against max_connections. */
export function checkMaxWorkersVsMaxConnections(facts: TuningFacts): CheckOutcome {
  const maxReplicas = facts.keda?.maxReplicaCount;
  const poolSize = facts.worker?.poolSize;
  const max = facts.postgres?.maxConnections;
  const lack = missing({
    'keda.maxReplicaCount': maxReplicas,
    'worker.poolSize': poolSize,
    'postgres.maxConnections': max,
  });
  if (!maxReplicas || !poolSize || !max) return { missing: lack };
  const su = superuserReserved(facts);
  const rc = facts.postgres?.reservedConnections?.value ?? 0;
  const maxWorkers = maxReplicas.value * poolSize.value;
  const needed = maxWorkers + PG_CONNECTION_OVERHEAD;
  const usable = max.value - su.value - rc;
  if (needed <= usable) return ok;
  const fitReplicas = Math.floor((usable - PG_CONNECTION_OVERHEAD) / poolSize.value);
  return {
    findings: [
      {
        id: 'max-workers-vs-max-connections',
        severity: 'error',
        message:
          `max_workers ${maxReplicas.value} × ${poolSize.value} = ${maxWorkers} + overhead ${PG_CONNECTION_OVERHEAD} = ${needed} connections, ` +
          `but max_connections ${max.value} − ${su.value} superuser_reserved_connections${rc > 0 ? ` − ${rc} reserved_connections` : ''} = ${usable} are usable.`,
        fix:
          `Raise max_connections to ≥ ${needed + su.value + rc}` +
          ' (sentinel-ctl tune pool --write)' +
          (fitReplicas >= 0
            ? `, or lower maxReplicaCount to ${fitReplicas} (sentinel-ctl tune keda --max-replicas ${fitReplicas} --write)`
            : '') +
          '.',
        source: sources.kedaMaxWorkers,
        evidence: {
          'keda.maxReplicaCount': maxReplicas,
          'worker.poolSize': poolSize,
          'postgres.maxConnections': max,
          'postgres.superuserReservedConnections': su,
        },
      },
    ],
  };
}

/** Channels: one per worker goroutine; channel_max is per connection. */
export function checkMaxWorkersVsChannelMax(facts: TuningFacts): CheckOutcome {
  const poolSize = facts.worker?.poolSize;
  const maxReplicas = facts.keda?.maxReplicaCount ?? facts.worker?.replicas;
  if (!poolSize || !maxReplicas) {
    return {
      missing: missing({ 'worker.poolSize': poolSize, 'keda.maxReplicaCount|worker.replicas': maxReplicas }),
    };
  }
  const channelMax = orDefault(facts.rabbitmq?.channelMax, RABBITMQ_DEFAULT_CHANNEL_MAX, 'RabbitMQ default');
  const total = maxReplicas.value * poolSize.value;
  const evidence = { 'worker.poolSize': poolSize, replicas: maxReplicas, 'rabbitmq.channelMax': channelMax };
  if (poolSize.value > channelMax.value) {
    return {
      findings: [
        {
          id: 'pool-vs-channel-max',
          severity: 'error',
          message: `WORKER_POOL_SIZE ${poolSize.value} opens ${poolSize.value} channels on one connection, more than channel_max ${channelMax.value}.`,
          fix: `Lower WORKER_POOL_SIZE to ≤ ${channelMax.value} (sentinel-ctl tune pool --write) or raise channel_max (sentinel-ctl tune rabbitmq --write).`,
          source: sources.rabbitChannels,
          evidence,
        },
      ],
    };
  }
  if (total > channelMax.value) {
    return {
      findings: [
        {
          id: 'max-workers-vs-channel-max',
          severity: 'warning',
          message:
            `${maxReplicas.value} × ${poolSize.value} = ${total} channels in total exceed channel_max ${channelMax.value}; ` +
            'fine only while each worker pod opens its own connection.',
          fix: 'Keep one AMQP connection per worker pod (channel_max counts per connection), or lower maxReplicaCount.',
          source: sources.kedaMaxWorkers,
          evidence,
        },
      ],
    };
  }
  return ok;
}

/** Worker pod requests and limits against what its pool needs. */
export function checkWorkerResourcesVsPool(facts: TuningFacts): CheckOutcome {
  const poolSize = facts.worker?.poolSize;
  const reqCpu = facts.worker?.requests?.cpuMillicores;
  const reqMem = facts.worker?.requests?.memoryBytes;
  const limMem = facts.worker?.limits?.memoryBytes;
  if (!poolSize || (!reqCpu && !reqMem && !limMem)) {
    return {
      missing: missing({
        'worker.poolSize': poolSize,
        'worker.requests|worker.limits': reqCpu ?? reqMem ?? limMem,
      }),
    };
  }
  const pool = poolSize.value;
  const findings: Finding[] = [];
  if (reqCpu && reqCpu.value < pool * CPU_REQUEST_PER_WORKER_MILLICORES) {
    const want = pool * CPU_REQUEST_PER_WORKER_MILLICORES;
    findings.push({
      id: 'worker-cpu-request-vs-pool',
      severity: 'warning',
      message: `The worker requests ${formatCpu(reqCpu.value)} CPU for ${pool} workers; 1 core per 2 workers is ${formatCpu(want)}.`,
      fix: `Set resources.requests.cpu to "${formatCpu(want)}" (sentinel-ctl tune pool --write).`,
      source: sources.workerResources,
      evidence: { 'worker.poolSize': poolSize, 'worker.requests.cpuMillicores': reqCpu },
    });
  }
  if (reqMem && reqMem.value < pool * MEMORY_REQUEST_PER_WORKER) {
    const want = pool * MEMORY_REQUEST_PER_WORKER;
    findings.push({
      id: 'worker-memory-request-vs-pool',
      severity: 'warning',
      message: `The worker requests ${formatMemory(reqMem.value)} of memory for ${pool} workers; 256Mi per worker is ${formatMemory(want)}.`,
      fix: `Set resources.requests.memory to at least "${formatMemory(want)}" (sentinel-ctl tune pool --write).`,
      source: sources.workerResources,
      evidence: { 'worker.poolSize': poolSize, 'worker.requests.memoryBytes': reqMem },
    });
  }
  if (limMem && limMem.value < pool * SANDBOX_MAX_MEMORY) {
    const want = pool * SANDBOX_MAX_MEMORY;
    findings.push({
      id: 'worker-memory-limit-vs-pool',
      severity: 'warning',
      message:
        `The worker's memory limit ${formatMemory(limMem.value)} is below ${pool} sandboxes × 512Mi (C++ compile) = ${formatMemory(want)}; ` +
        'a burst of compiles gets the pod OOM-killed.',
      fix: `Set resources.limits.memory to "${formatMemory(want)}" or lower WORKER_POOL_SIZE (sentinel-ctl tune pool --write).`,
      source: sources.sandboxLimits,
      evidence: { 'worker.poolSize': poolSize, 'worker.limits.memoryBytes': limMem },
    });
  }
  return { findings };
}

/** WORKER_POOL_SIZE against min(cores, RAM / 0.5 GiB) of the pod it runs in. */
export function checkWorkerPoolVsCapacity(facts: TuningFacts): CheckOutcome {
  const poolSize = facts.worker?.poolSize;
  const cpu = facts.worker?.cpuMillicores;
  const mem = facts.worker?.memoryBytes;
  if (!poolSize || !cpu || !mem) {
    return {
      missing: missing({
        'worker.poolSize': poolSize,
        'worker.cpuMillicores': cpu,
        'worker.memoryBytes': mem,
      }),
    };
  }
  const rec = workerPoolSize({ cpuMillicores: cpu.value, memoryBytes: mem.value });
  if (poolSize.value <= rec.value) return ok;
  return {
    findings: [
      {
        id: 'worker-pool-vs-capacity',
        severity: 'warning',
        message:
          `WORKER_POOL_SIZE ${poolSize.value} exceeds what the pod can run at once: ${rec.reason} ` +
          `(CPU ${formatCpu(cpu.value)} from ${cpu.from}, memory ${formatMemory(mem.value)} from ${mem.from}).`,
        fix: `Set WORKER_POOL_SIZE to ${rec.value}, or give the pod more CPU and memory (sentinel-ctl tune pool --write).`,
        source: sources.workerPoolSizing,
        evidence: { 'worker.poolSize': poolSize, 'worker.cpuMillicores': cpu, 'worker.memoryBytes': mem },
      },
    ],
  };
}

/** API_WRITE_TIMEOUT must cover the longest stream. */
export function checkWriteTimeout(facts: TuningFacts): CheckOutcome {
  const writeTimeout = facts.api?.writeTimeoutMs;
  if (!writeTimeout) return { missing: ['api.writeTimeoutMs'] };
  const longest = orDefault(facts.longestStreamMs, 10_000, 'the longest execution: time_limit_ms max 10000');
  if (writeTimeout.value >= longest.value) return ok;
  return {
    findings: [
      {
        id: 'write-timeout-vs-stream',
        severity: 'error',
        message: `API_WRITE_TIMEOUT ${formatGoDuration(writeTimeout.value)} is shorter than the longest stream, ${formatGoDuration(longest.value)}: responses are cut off.`,
        fix: `Set API_WRITE_TIMEOUT to at least ${formatGoDuration(longest.value)} (the guide's 30s covers 10s executions plus polling).`,
        source: sources.apiRecommendations,
        evidence: { 'api.writeTimeoutMs': writeTimeout, longestStreamMs: longest },
      },
    ],
  };
}

/** API_RATE_LIMIT (per minute per IP) against what the bench sends from each client IP. */
export function checkRateLimitVsBench(facts: TuningFacts): CheckOutcome {
  const limit = facts.api?.rateLimitPerMinute;
  const rps = facts.bench?.requestsPerSecond;
  if (!limit || !rps)
    return { missing: missing({ 'api.rateLimitPerMinute': limit, 'bench.requestsPerSecond': rps }) };
  const ips = orDefault(facts.bench?.clientIps, 1, 'a local bench sends from one address');
  const perIp = (rps.value * 60) / ips.value;
  if (perIp <= limit.value) return ok;
  return {
    findings: [
      {
        id: 'rate-limit-vs-bench',
        severity: 'warning',
        message:
          `The bench sends ${num(rps.value)} req/s from ${ips.value} client IP${ips.value === 1 ? '' : 's'} = ${num(perIp)} per minute per IP, ` +
          `above API_RATE_LIMIT ${limit.value}/min: most requests will get 429.`,
        fix: `Raise API_RATE_LIMIT to ≥ ${Math.ceil(perIp)} for the bench (production: 500–1000 behind a CDN), or lower the bench rate.`,
        source: sources.apiRecommendations,
        evidence: { 'api.rateLimitPerMinute': limit, 'bench.requestsPerSecond': rps, 'bench.clientIps': ips },
      },
    ],
  };
}

/** prefetch × p99 must stay below RabbitMQ's consumer_timeout. */
export function checkPrefetchVsConsumerTimeout(facts: TuningFacts): CheckOutcome {
  const prefetch = facts.worker?.prefetch;
  const exec = facts.execution;
  if (!prefetch || !exec) return { missing: missing({ 'worker.prefetch': prefetch, execution: exec }) };
  const timeout = orDefault(
    facts.rabbitmq?.consumerTimeoutMs,
    DEFAULT_CONSUMER_TIMEOUT_MS,
    'RabbitMQ default (30 min)',
  );
  if (prefetchFitsConsumerTimeout(prefetch.value, exec.value.p99Ms, timeout.value)) return ok;
  const product = prefetch.value * exec.value.p99Ms;
  const fit = Math.ceil(timeout.value / exec.value.p99Ms) - 1;
  return {
    findings: [
      {
        id: 'prefetch-vs-consumer-timeout',
        severity: 'error',
        message:
          `prefetch ${prefetch.value} × p99 ${num(exec.value.p99Ms)} ms = ${num(product)} ms is not below consumer_timeout ${timeout.value} ms ` +
          `(${formatGoDuration(timeout.value)}): the last prefetched message times out, the channel closes and the messages are redelivered.`,
        fix:
          fit >= 1
            ? `Lower the prefetch to ${fit} (sentinel-ctl tune prefetch --write) or raise consumer_timeout.`
            : `Raise consumer_timeout above ${num(exec.value.p99Ms)} ms: one execution alone exceeds it.`,
        source: sources.ownConsumerTimeout,
        evidence: { 'worker.prefetch': prefetch, execution: exec, 'rabbitmq.consumerTimeoutMs': timeout },
      },
    ],
  };
}

/** KEDA's cooldownPeriod must outlast the work a pod holds: prefetch × p99. */
export function checkKedaCooldown(facts: TuningFacts): CheckOutcome {
  const cooldown = facts.keda?.cooldownPeriod;
  const prefetch = facts.worker?.prefetch;
  const exec = facts.execution;
  if (!cooldown || !prefetch || !exec) {
    return {
      missing: missing({ 'keda.cooldownPeriod': cooldown, 'worker.prefetch': prefetch, execution: exec }),
    };
  }
  const heldMs = prefetch.value * exec.value.p99Ms;
  if (cooldown.value * 1000 >= heldMs) return ok;
  return {
    findings: [
      {
        id: 'keda-cooldown-vs-message-time',
        severity: 'warning',
        message:
          `cooldownPeriod ${cooldown.value}s is shorter than the work one consumer holds, prefetch ${prefetch.value} × p99 ${num(exec.value.p99Ms)} ms = ${num(heldMs / 1000)} s: ` +
          'KEDA can scale pods to idle while they still execute.',
        fix: `Set cooldownPeriod to at least ${Math.ceil(heldMs / 1000)} (sentinel-ctl tune keda --write).`,
        source: sources.ownKedaCooldown,
        evidence: { 'keda.cooldownPeriod': cooldown, 'worker.prefetch': prefetch, execution: exec },
      },
    ],
  };
}

/** The rabbitmq trigger must count unacknowledged messages: protocol http, mode QueueLength. */
export function checkKedaTrigger(facts: TuningFacts): CheckOutcome {
  const protocol = facts.keda?.protocol;
  const scheme = facts.keda?.hostScheme;
  const mode = facts.keda?.mode;
  if (!protocol && !scheme && !mode) return { missing: ['keda.protocol|keda.hostScheme'] };
  const findings: Finding[] = [];
  const effective = effectiveProtocol(protocol?.value, scheme?.value);
  if (effective === 'amqp') {
    const evidence: Record<string, Fact<unknown>> = {};
    if (protocol) evidence['keda.protocol'] = protocol;
    if (scheme) evidence['keda.hostScheme'] = scheme;
    findings.push({
      id: 'keda-trigger-protocol',
      severity: 'error',
      message:
        `The KEDA rabbitmq trigger reads the queue over AMQP (${protocol ? `protocol ${protocol.value}` : ''}${protocol && scheme ? ', ' : ''}${scheme ? `host ${scheme.value}://` : ''}), ` +
        'which counts only ready messages: messages in the workers’ prefetch buffers are invisible, so a busy queue reads empty and KEDA scales working pods down.',
      fix: 'Use protocol: http with the management API host (http://…:15672/vhost) and mode: QueueLength (sentinel-ctl tune keda --write).',
      source: sources.ownKedaTrigger,
      evidence,
    });
  }
  if (mode?.value === 'MessageRate') {
    findings.push({
      id: 'keda-trigger-mode',
      severity: 'warning',
      message:
        'The KEDA rabbitmq trigger uses mode MessageRate: it scales on the publish rate, not on the backlog to drain.',
      fix: 'Use mode: QueueLength with the trigger value as messages per worker replica (sentinel-ctl tune keda --write).',
      source: sources.kedaParameters,
      evidence: { 'keda.mode': mode },
    });
  }
  return { findings };
}

/** A per-replica pool above SARK's 100 connections per pod. */
export function checkApiPoolPerPod(facts: TuningFacts): CheckOutcome {
  const p = facts.api?.poolMaxConns;
  if (!p || p.value === null) return { missing: ['api.poolMaxConns'] };
  if (p.value <= SARK_CONNECTIONS_PER_POD_MAX) return ok;
  return {
    findings: [
      {
        id: 'api-pool-per-pod',
        severity: 'warning',
        message: `pool_max_conns ${p.value} per API replica is above the ${SARK_CONNECTIONS_PER_POD_MAX} connections per pod the SARK targets treat as the maximum.`,
        fix: 'Add API replicas or a pooler instead of one large pool per pod.',
        source: sources.sarkThroughputTargets,
        evidence: { 'api.poolMaxConns': p },
      },
    ],
  };
}

/**
 * The API's HorizontalPodAutoscaler against the connection budget: at its peak the API opens
 * maxReplicas × pool. The facts count the peak already unless `--api-replicas` says fewer.
 */
export function checkApiHpa(facts: TuningFacts): CheckOutcome {
  const hpa = facts.api?.hpaMaxReplicas;
  const replicas = facts.api?.replicas;
  const pool = facts.api?.poolMaxConns;
  const missing = [
    ...(hpa ? [] : ['api.hpaMaxReplicas']),
    ...(replicas ? [] : ['api.replicas']),
    ...(pool && pool.value !== null ? [] : ['api.poolMaxConns']),
  ];
  if (!hpa || !replicas || !pool || pool.value === null) return { missing };
  if (hpa.value <= replicas.value) return ok;
  const extra = (hpa.value - replicas.value) * pool.value;
  return {
    findings: [
      {
        id: 'api-hpa-vs-max-connections',
        severity: 'warning',
        message:
          `The API's HorizontalPodAutoscaler scales to ${hpa.value} replicas × pool_max_conns ${pool.value} = ${hpa.value * pool.value} connections, ` +
          `${extra} more than the ${replicas.value} × ${pool.value} counted (${replicas.detail}).`,
        fix: `Size max_connections for the peak (sentinel-ctl tune pool --api-replicas ${hpa.value} --write), or lower the HPA's maxReplicas.`,
        source: sources.pgxRecommendations,
        evidence: { 'api.hpaMaxReplicas': hpa, 'api.replicas': replicas, 'api.poolMaxConns': pool },
      },
    ],
  };
}

/** Redis: maxmemory against the keys it must hold, usage against SARK's targets, the eviction policy. */
export function checkRedis(facts: TuningFacts): CheckOutcome {
  const r = facts.redis;
  const max = r?.maxmemoryBytes;
  const policy = r?.maxmemoryPolicy;
  if (!max && !policy) return { missing: ['redis.maxmemoryBytes|redis.maxmemoryPolicy'] };
  const findings: Finding[] = [];
  if (max && r?.keys) {
    const bpk = orDefault(r.bytesPerKey, ESTIMATED_BYTES_PER_KEY, "the guide's ~200 B estimate");
    const needed = r.keys.value * bpk.value;
    if (needed > max.value * REDIS_MEMORY_TARGET) {
      const want = Math.ceil(needed / REDIS_MEMORY_TARGET / 1024 ** 2) * 1024 ** 2;
      findings.push({
        id: 'redis-maxmemory-vs-keys',
        severity: 'warning',
        message:
          `${r.keys.value} keys × ${num(bpk.value)} B${bpk.from === 'default' ? ' (estimate)' : ''} = ${formatByteSize(Math.ceil(needed), 'redis')} ` +
          `is above 75 % of maxmemory ${formatByteSize(max.value, 'redis')}: evictions (and lost idempotency locks) follow.`,
        fix: `Set maxmemory to ${formatByteSize(want, 'redis')} (sentinel-ctl tune redis --write).`,
        source: sources.redis,
        evidence: { 'redis.keys': r.keys, 'redis.bytesPerKey': bpk, 'redis.maxmemoryBytes': max },
      });
    }
  }
  if (max && r?.usedMemoryBytes && max.value > 0) {
    const c = classifyRedisMemory(r.usedMemoryBytes.value, max.value);
    if (c.level !== 'ok') {
      findings.push({
        id: 'redis-memory-target',
        severity: c.level === 'exceeded' ? 'error' : 'warning',
        message:
          `Redis uses ${formatByteSize(r.usedMemoryBytes.value, 'redis')} of maxmemory ${formatByteSize(max.value, 'redis')} = ${num(c.ratio * 100)} %: ` +
          `${c.level} against the SARK targets (< 75 % target, < 90 % warning, < 95 % critical).`,
        fix: 'Raise maxmemory (sentinel-ctl tune redis --write) or shorten key TTLs.',
        source: sources.sarkResourceTargets,
        evidence: { 'redis.usedMemoryBytes': r.usedMemoryBytes, 'redis.maxmemoryBytes': max },
      });
    }
  }
  if (policy && policy.value !== 'allkeys-lru') {
    findings.push({
      id: 'redis-maxmemory-policy',
      severity: 'warning',
      message: `maxmemory-policy is ${policy.value}; the guide sets allkeys-lru${policy.value === 'noeviction' ? ' (noeviction makes writes fail once maxmemory is reached)' : ''}.`,
      fix: 'Set maxmemory-policy allkeys-lru (sentinel-ctl tune redis --write).',
      source: sources.redis,
      evidence: { 'redis.maxmemoryPolicy': policy },
    });
  }
  return { findings };
}

/** Every check `tune check` runs, in the order findings are reported. */
export const checks: CheckDefinition[] = [
  {
    id: 'pools-vs-max-connections',
    title: 'sum of pools vs max_connections',
    run: checkPoolsVsMaxConnections,
  },
  { id: 'pgx-pool-implicit', title: 'explicit pgx pool size', run: checkPgxPoolExplicit },
  {
    id: 'max-workers-vs-max-connections',
    title: 'max_workers vs max_connections',
    run: checkMaxWorkersVsMaxConnections,
  },
  {
    id: 'max-workers-vs-channel-max',
    title: 'max_workers vs RabbitMQ channel_max',
    run: checkMaxWorkersVsChannelMax,
  },
  {
    id: 'worker-resources-vs-pool',
    title: 'worker requests and limits vs pool size',
    run: checkWorkerResourcesVsPool,
  },
  {
    id: 'worker-pool-vs-capacity',
    title: 'worker pool vs pod CPU and memory',
    run: checkWorkerPoolVsCapacity,
  },
  { id: 'write-timeout-vs-stream', title: 'API write timeout vs longest stream', run: checkWriteTimeout },
  { id: 'rate-limit-vs-bench', title: 'API rate limit vs bench load', run: checkRateLimitVsBench },
  {
    id: 'prefetch-vs-consumer-timeout',
    title: 'prefetch × p99 vs consumer_timeout',
    run: checkPrefetchVsConsumerTimeout,
  },
  { id: 'keda-cooldown-vs-message-time', title: 'KEDA cooldown vs prefetch × p99', run: checkKedaCooldown },
  { id: 'keda-trigger', title: 'KEDA trigger protocol and mode', run: checkKedaTrigger },
  { id: 'api-pool-per-pod', title: 'API pool vs SARK per-pod maximum', run: checkApiPoolPerPod },
  { id: 'api-hpa', title: 'API autoscaler peak vs the counted API replicas', run: checkApiHpa },
  { id: 'redis', title: 'Redis maxmemory, usage and policy', run: checkRedis },
];

/** Runs every check over the facts. `tune check` exits 1 when any finding has severity error. */
export function runChecks(facts: TuningFacts, only?: readonly string[]): CheckReport {
  const report: CheckReport = { findings: [], passed: [], skipped: [] };
  for (const c of checks) {
    if (only && !only.includes(c.id)) continue;
    const outcome = c.run(facts);
    if ('missing' in outcome) report.skipped.push({ id: c.id, missing: outcome.missing });
    else if (outcome.findings.length === 0) report.passed.push(c.id);
    else report.findings.push(...outcome.findings);
  }
  return report;
}
