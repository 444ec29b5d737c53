import type {
  ApiFacts,
  Facts,
  HostFacts,
  PostgresFacts,
  QueueFacts,
  RabbitFacts,
  RedisFacts,
  RuleContext,
  WorkerFacts,
} from '../../../src/diagnose/types.js';
import { NO_WINDOWS } from '../../../src/diagnose/windows/types.js';

export const NOW = Date.parse('2026-01-01T12:00:00Z');
export const MIB = 1024 * 1024;

export function queue(over: Partial<QueueFacts> = {}): QueueFacts {
  return {
    name: 'execution_tasks',
    type: 'quorum',
    messages: 0,
    ready: 0,
    unacked: 0,
    consumers: 4,
    consumerUtilisation: 1,
    publishRate: 0,
    deliverRate: 0,
    ackRate: 0,
    depthRate: 0,
    depthSamples: [],
    ...over,
  };
}

export function postgres(over: Partial<PostgresFacts> = {}): PostgresFacts {
  return {
    version: '15.18',
    maxConnections: 23,
    superuserReservedConnections: 3,
    connections: {
      total: 2,
      byState: { idle: 2 },
      appUser: 'sentinel',
      appTotal: 2,
      appInUse: 0,
      api: null,
    },
    pool: { capacity: 20, detail: '1 API × pool_max_conns 18 + 1 worker × 2' },
    idleInTransaction: [],
    longRunning: [],
    blocked: [],
    cache: { hitRatio: 0.999, blocks: 5000, lifetimeHitRatio: 0.999 },
    commitsPerSec: 10,
    rollbacksPerSec: 0,
    deadlocksInWindow: 0,
    statStatements: { available: true, top: [], window: [] },
    unusedIndexes: [],
    bloat: [],
    queuedJobs: { count: 0, oldestSeconds: null },
    ...over,
  };
}

export function rabbit(over: Partial<RabbitFacts> = {}): RabbitFacts {
  return {
    via: 'management',
    version: '3.10.8',
    queues: [queue(), queue({ name: 'execution_tasks.dlq', consumers: 0 })],
    publishRate: 0,
    deliverRate: 0,
    ackRate: 0,
    nodes: [
      {
        name: 'rabbit@localhost',
        memUsed: 100 * MIB,
        memLimit: 1000 * MIB,
        memAlarm: false,
        diskFree: 10_000 * MIB,
        diskFreeLimit: 1000 * MIB,
        diskAlarm: false,
        fdUsed: 10,
        fdTotal: 1024,
      },
    ],
    ...over,
  };
}

export function redis(over: Partial<RedisFacts> = {}): RedisFacts {
  return {
    version: '7.0.15',
    usedMemory: 10 * MIB,
    maxmemory: 128 * MIB,
    maxmemoryPolicy: 'allkeys-lru',
    fragmentationRatio: 1.1,
    connectedClients: 3,
    blockedClients: 0,
    rejectedConnections: 0,
    rejectedInWindow: 0,
    evictedKeys: 0,
    evictedInWindow: 0,
    errorRepliesInWindow: 0,
    errorStats: {},
    errorStatsInWindow: {},
    hitsInWindow: 500,
    missesInWindow: 10,
    hitRate: 500 / 510,
    lifetimeHitRate: 0.98,
    opsPerSec: 100,
    keys: 1000,
    latencyMs: { min: 0.1, avg: 0.2, max: 0.4, samples: 5 },
    ...over,
  };
}

export function worker(over: Partial<WorkerFacts> = {}): WorkerFacts {
  return {
    executionsByStatus: { SUCCESS: 100 },
    executionsInWindow: { SUCCESS: 0 },
    duration: { count: 100, p50Ms: 50, p95Ms: 90, p99Ms: 99, over: 'lifetime' },
    durationByLanguage: {},
    workersActive: 4,
    poolSize: 4,
    inProgress: 0,
    sandboxFailures: 0,
    sandboxFailuresInWindow: 0,
    processCpuCores: 0.1,
    residentMemoryBytes: 80 * MIB,
    sandbox: 'bwrap (cgroups v1)',
    deadLettered: {},
    deadLetteredInWindow: {},
    ...over,
  };
}

export function api(over: Partial<ApiFacts> = {}): ApiFacts {
  return {
    status: 'ok',
    httpStatus: 200,
    services: { postgres: 'ok', rabbitmq: 'ok', redis: 'ok' },
    latencyMs: 2,
    requests: null,
    ...over,
  };
}

export function host(over: Partial<HostFacts> = {}): HostFacts {
  return {
    scope: 'host',
    cpus: 2,
    load1: 0.5,
    load5: 0.5,
    cpuUsage: 0.2,
    memoryUsed: 1000 * MIB,
    memoryLimit: 4000 * MIB,
    oomKills: 0,
    oomKillsInWindow: 0,
    oomSource: 'vmstat',
    ...over,
  };
}

const ok = <T>(facts: T) => ({ ok: true as const, target: 'test', ms: 1, facts, notes: [] });

/** A healthy stack: every component up, nothing near a threshold. */
export function healthy(): Facts {
  return {
    postgres: ok(postgres()),
    rabbitmq: ok(rabbit()),
    redis: ok(redis()),
    worker: ok(worker()),
    api: ok(api()),
    host: ok(host()),
  };
}

export function context(over: Partial<RuleContext> = {}): RuleContext {
  return {
    now: NOW,
    windowSeconds: 1,
    apiReplicas: 1,
    poolMaxConns: 18,
    workerReplicas: 1,
    workerPoolSize: 4,
    taskQueue: 'execution_tasks',
    deadLetterQueue: 'execution_tasks.dlq',
    firstSeen: {},
    windows: NO_WINDOWS,
    ...over,
  };
}

/** Replace one component's facts (still ok) with a modified copy. */
export function withFacts<K extends keyof Facts>(
  facts: Facts,
  name: K,
  value: Extract<Facts[K], { ok: true }>['facts'],
): Facts {
  return { ...facts, [name]: ok(value) };
}

export function down(facts: Facts, name: keyof Facts, error = 'connect ECONNREFUSED 127.0.0.1:1'): Facts {
  return { ...facts, [name]: { ok: false, target: `${name}-target`, ms: 3, error } };
}
