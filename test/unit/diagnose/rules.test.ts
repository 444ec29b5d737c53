import { describe, expect, test } from 'vitest';
import { evaluate, nextFirstSeen, rankFindings } from '../../../src/diagnose/rules/index.js';
import type { Facts, Finding, PgSession, RuleContext, Severity } from '../../../src/diagnose/types.js';
import { NO_WINDOWS, type Windows } from '../../../src/diagnose/windows/types.js';
import {
  api,
  context,
  down,
  healthy,
  host,
  MIB,
  NOW,
  postgres,
  queue,
  rabbit,
  redis,
  withFacts,
  worker,
} from './fixtures.js';

type Row = [
  name: string,
  build: () => { facts: Facts; ctx?: Partial<RuleContext> },
  id: string,
  expected: Severity | null,
  evidence?: Record<string, unknown>,
];

const session = (over: Partial<PgSession>): PgSession => ({
  pid: 4242,
  user: 'sentinel',
  application: 'api',
  state: 'idle in transaction',
  seconds: 10,
  waitEvent: 'Client:ClientRead',
  query: 'UPDATE execution_jobs SET status = $1',
  ...over,
});

const pg = (over: Parameters<typeof postgres>[0]) => ({
  facts: withFacts(healthy(), 'postgres', postgres(over)),
});
const conns = (total: number) =>
  pg({
    connections: {
      total,
      byState: { idle: total },
      appUser: 'sentinel',
      appTotal: 0,
      appInUse: 0,
      api: null,
    },
  });
const pool = (inUse: number, cpu: number | null, apiOver: Parameters<typeof api>[0] = {}, named = false) => ({
  facts: withFacts(
    withFacts(withFacts(healthy(), 'api', api(apiOver)), 'host', host({ cpuUsage: cpu })),
    'postgres',
    postgres({
      connections: {
        total: inUse + 3,
        byState: { active: inUse, idle: 3 },
        appUser: 'sentinel',
        appTotal: inUse + 3,
        appInUse: inUse,
        api: named ? { application: 'sentinel-api', total: inUse, inUse } : null,
      },
    }),
  ),
});
const win = (over: Partial<Windows>): Partial<RuleContext> => ({ windows: { ...NO_WINDOWS, ...over } });
const mq = (over: Parameters<typeof queue>[0], ctx?: Partial<RuleContext>) => ({
  facts: withFacts(healthy(), 'rabbitmq', rabbit({ queues: [queue(over)] })),
  ctx,
});
const node = (over: Partial<ReturnType<typeof rabbit>['nodes'][number]>) => ({
  facts: withFacts(healthy(), 'rabbitmq', rabbit({ nodes: [{ ...rabbit().nodes[0]!, ...over }] })),
});
const rd = (over: Parameters<typeof redis>[0]) => ({ facts: withFacts(healthy(), 'redis', redis(over)) });
const wk = (over: Parameters<typeof worker>[0], ctx?: Partial<RuleContext>) => ({
  facts: withFacts(healthy(), 'worker', worker(over)),
  ctx,
});
const hs = (over: Parameters<typeof host>[0]) => ({ facts: withFacts(healthy(), 'host', host(over)) });
const ago = (s: number) => NOW - s * 1000;

// One row per rule and boundary. Thresholds: SARK resource targets (50/80/95 % pool, 75/90/95 %
// Redis, 60/80/90 % CPU, 70/85/95 % memory), deployment guide alerts, tuning guide symptom table.
const rows: Row[] = [
  // max_connections 23 − 3 reserved = 20 usable
  ['connections 9/20 = 45 %: on target', () => conns(9), 'pg-connections-saturation', null],
  [
    'connections 10/20 = 50 %: warning band',
    () => conns(10),
    'pg-connections-saturation',
    'warning',
    { connections: 10, usable: 20, ratio: 0.5 },
  ],
  ['connections 15/20 = 75 %: warning band', () => conns(15), 'pg-connections-saturation', 'warning'],
  [
    'connections 16/20 = 80 %: critical band',
    () => conns(16),
    'pg-connections-saturation',
    'critical',
    { ratio: 0.8 },
  ],
  ['connections 19/20 = 95 %: exceeded', () => conns(19), 'pg-connections-saturation', 'critical'],
  ['pool 9/20 busy: on target', () => pool(9, 0.7), 'pg-pool-usage', null],
  [
    'pool 10/20 busy, requests fast: usage, information only',
    () => pool(10, 0.7),
    'pg-pool-usage',
    'info',
    { inUse: 10, poolCapacity: 20 },
  ],
  [
    'pool 19/20 busy, CPU 59 %, health 2 ms: busy, not exhausted (no latency evidence)',
    () => pool(19, 0.59),
    'pgx-pool-exhaustion',
    null,
  ],
  ['pool 19/20 busy, health 2 ms: usage only', () => pool(19, 0.59), 'pg-pool-usage', 'info'],
  [
    'pool 19/20 busy, health check 2.1 s: pgx pool exhaustion',
    () => pool(19, 0.59, { latencyMs: 2100 }),
    'pgx-pool-exhaustion',
    'critical',
    { inUse: 19, cpuUsage: 0.59, latencyEvidence: 'health check 2100 ms' },
  ],
  [
    'pool 19/20 busy, request p95 800 ms: pgx pool exhaustion',
    () =>
      pool(19, null, {
        requests: { total: 100, byCode: { '202': 100 }, p95Ms: 800, p99Ms: 900, seconds: 1 },
      }),
    'pgx-pool-exhaustion',
    'critical',
  ],
  [
    'API sessions named: 17 busy of its 18 is below "exceeded" even with 19 of the role busy',
    () => ({
      facts: withFacts(
        pool(19, 0.5, { latencyMs: 2100 }).facts,
        'postgres',
        postgres({
          connections: {
            total: 19,
            byState: { active: 19 },
            appUser: 'sentinel',
            appTotal: 19,
            appInUse: 19,
            api: { application: 'sentinel-api', total: 17, inUse: 17 },
          },
        }),
      ),
    }),
    'pgx-pool-exhaustion',
    null,
  ],
  [
    'API sessions named: 18 of 1 × 18 busy, health slow: exhaustion, counted on the API',
    () => pool(18, 0.5, { latencyMs: 2100 }, true),
    'pgx-pool-exhaustion',
    'critical',
    { poolCapacity: 18, counted: 'api' },
  ],
  [
    'idle in transaction 9.9 s',
    () => pg({ idleInTransaction: [session({ seconds: 9.9 })] }),
    'pg-idle-in-transaction',
    null,
  ],
  [
    'idle in transaction 10 s',
    () => pg({ idleInTransaction: [session({ seconds: 10 })] }),
    'pg-idle-in-transaction',
    'warning',
    { longestSeconds: 10, pid: 4242 },
  ],
  [
    'idle in transaction 299 s',
    () => pg({ idleInTransaction: [session({ seconds: 299 })] }),
    'pg-idle-in-transaction',
    'warning',
  ],
  [
    'idle in transaction 300 s',
    () => pg({ idleInTransaction: [session({ seconds: 300 })] }),
    'pg-idle-in-transaction',
    'critical',
  ],
  [
    'query active 4.9 s',
    () => pg({ longRunning: [session({ state: 'active', seconds: 4.9 })] }),
    'pg-long-running-query',
    null,
  ],
  [
    'query active 5 s',
    () => pg({ longRunning: [session({ state: 'active', seconds: 5 })] }),
    'pg-long-running-query',
    'warning',
    { longestSeconds: 5 },
  ],
  [
    'query active 300 s',
    () => pg({ longRunning: [session({ state: 'active', seconds: 300 })] }),
    'pg-long-running-query',
    'critical',
  ],
  [
    'a session waiting on a lock',
    () => pg({ blocked: [session({ state: 'active', seconds: 3, blockedBy: [7] })] }),
    'pg-blocked-sessions',
    'warning',
    { blocked: 1, blockers: '7' },
  ],
  [
    'cache 50 % over 999 blocks: too few',
    () => pg({ cache: { hitRatio: 0.5, blocks: 999, lifetimeHitRatio: 0.5 } }),
    'pg-cache-hit-ratio',
    null,
  ],
  [
    'cache 99 % over 1000 blocks',
    () => pg({ cache: { hitRatio: 0.99, blocks: 1000, lifetimeHitRatio: 0.99 } }),
    'pg-cache-hit-ratio',
    null,
  ],
  [
    'cache 98.9 %: below the OLTP heuristic',
    () => pg({ cache: { hitRatio: 0.989, blocks: 1000, lifetimeHitRatio: 0.99 } }),
    'pg-cache-hit-ratio',
    'info',
  ],
  [
    'cache 80 %: at the SARK target',
    () => pg({ cache: { hitRatio: 0.8, blocks: 1000, lifetimeHitRatio: 0.8 } }),
    'pg-cache-hit-ratio',
    'info',
  ],
  [
    'cache 79 %: below 80 %',
    () => pg({ cache: { hitRatio: 0.79, blocks: 1000, lifetimeHitRatio: 0.8 } }),
    'pg-cache-hit-ratio',
    'warning',
    { hitRatio: 0.79 },
  ],
  [
    'pg_stat_statements missing',
    () => pg({ statStatements: { available: false, reason: 'not installed' } }),
    'pg-stat-statements-missing',
    'info',
    { reason: 'not installed' },
  ],
  [
    'statement mean 100 ms',
    () =>
      pg({
        statStatements: {
          available: true,
          top: [{ query: 'q', calls: 9, meanMs: 100, maxMs: 200, totalMs: 900 }],
          window: [{ query: 'q', calls: 9, meanMs: 100 }],
        },
      }),
    'pg-slow-queries',
    null,
  ],
  [
    'statement mean 100.1 ms',
    () =>
      pg({
        statStatements: {
          available: true,
          top: [{ query: 'q', calls: 9, meanMs: 100.1, maxMs: 200, totalMs: 900 }],
          window: [{ query: 'q', calls: 3, meanMs: 100.1 }],
        },
      }),
    'pg-slow-queries',
    'warning',
    { meanMs: 100.1, calls: 3 },
  ],
  [
    'one 40 s statement long ago: lifetime mean 40 s, nothing in the window',
    () =>
      pg({
        statStatements: {
          available: true,
          top: [{ query: 'q', calls: 1, meanMs: 40_000, maxMs: 40_000, totalMs: 40_000 }],
          window: [],
        },
      }),
    'pg-slow-queries',
    null,
  ],
  [
    'a 40 s statement called twice in the window: below the minimum of 3 calls',
    () =>
      pg({
        statStatements: {
          available: true,
          top: [],
          window: [{ query: 'q', calls: 2, meanMs: 40_000 }],
        },
      }),
    'pg-slow-queries',
    null,
  ],
  [
    'unused index, table scanned 999 times',
    () =>
      pg({
        unusedIndexes: [{ table: 't', index: 'i', sizeBytes: 8192, tableScans: 999, tableBytes: 64 * MIB }],
      }),
    'pg-unused-indexes',
    null,
  ],
  [
    'unused index, table scanned 1000 times',
    () =>
      pg({
        unusedIndexes: [{ table: 't', index: 'i', sizeBytes: 8192, tableScans: 1000, tableBytes: 64 * MIB }],
      }),
    'pg-unused-indexes',
    'info',
    { indexes: 't.i', totalBytes: 8192 },
  ],
  [
    'unused index on a 32 KiB table: the planner would not use it anyway',
    () =>
      pg({
        unusedIndexes: [
          { table: 't', index: 'i', sizeBytes: 16_384, tableScans: 50_000, tableBytes: 32 * 1024 },
        ],
      }),
    'pg-unused-indexes',
    null,
  ],
  [
    'dead tuples 19.9 %',
    () => pg({ bloat: [{ table: 't', live: 80_100, dead: 19_900, deadRatio: 0.199, lastAutovacuum: null }] }),
    'pg-dead-tuples',
    null,
  ],
  [
    'dead tuples 20 % of 50 000',
    () => pg({ bloat: [{ table: 't', live: 40_000, dead: 10_000, deadRatio: 0.2, lastAutovacuum: null }] }),
    'pg-dead-tuples',
    'info',
    { dead: 10_000 },
  ],
  [
    'dead tuples 50 % but only 9 999',
    () => pg({ bloat: [{ table: 't', live: 9_999, dead: 9_999, deadRatio: 0.5, lastAutovacuum: null }] }),
    'pg-dead-tuples',
    null,
  ],
  ['a deadlock in the window', () => pg({ deadlocksInWindow: 1 }), 'pg-deadlocks', 'warning'],
  ['queue 1000 messages', () => mq({ messages: 1000, ready: 1000 }), 'queue-backlog', null],
  [
    'queue 1001 messages, first seen now: pending',
    () => mq({ messages: 1001, ready: 1001 }),
    'queue-backlog',
    'info',
    { messages: 1001, heldSeconds: 0 },
  ],
  [
    'queue 1001 for 284 s',
    () => mq({ messages: 1001, ready: 1001 }, { firstSeen: { 'queue-backlog': ago(284) } }),
    'queue-backlog',
    'info',
  ],
  [
    'queue 1001 for 300 s: SentinelQueueBacklog',
    () => mq({ messages: 1001, ready: 1001 }, { firstSeen: { 'queue-backlog': ago(300) } }),
    'queue-backlog',
    'warning',
    { heldSeconds: 300 },
  ],
  [
    'sample file: above 1000 for 5 m 10 s',
    () =>
      mq(
        { messages: 1500, ready: 1500 },
        win({ backlog: { heldSeconds: 310, historySeconds: 320, source: 'sample-file' } }),
      ),
    'queue-backlog',
    'warning',
    { heldSeconds: 310, windowSource: 'sample-file', historySeconds: 320 },
  ],
  [
    'broker samples above 1000 for 400 s',
    () =>
      mq({
        messages: 1500,
        ready: 1500,
        depthSamples: [
          { at: ago(500), messages: 900 },
          { at: ago(400), messages: 1200 },
          { at: ago(0), messages: 1500 },
        ],
      }),
    'queue-backlog',
    'warning',
    { heldSeconds: 400 },
  ],
  [
    '1 ready message, no consumer: stuck in QUEUED',
    () => mq({ ready: 1, messages: 1, consumers: 0 }),
    'queue-no-consumers',
    'critical',
    { ready: 1 },
  ],
  [
    '1 ready message, 1 consumer',
    () => mq({ ready: 1, messages: 1, consumers: 1 }),
    'queue-no-consumers',
    null,
  ],
  [
    'depth samples rising 0.5/s over 20 s with consumers',
    () =>
      mq({
        ready: 20,
        messages: 20,
        depthRate: 0.5,
        depthSamples: [
          { at: ago(20), messages: 10 },
          { at: ago(15), messages: 12 },
          { at: ago(10), messages: 15 },
          { at: ago(5), messages: 18 },
          { at: ago(0), messages: 20 },
        ],
      }),
    'queue-growing',
    'warning',
    { depthRate: 0.5, from: 15, to: 20 },
  ],
  [
    'the broker still says +3/s but its samples fell: a drained burst, no growth',
    () =>
      mq({
        ready: 15,
        messages: 15,
        depthRate: 3,
        depthSamples: [
          { at: ago(15), messages: 40 },
          { at: ago(10), messages: 30 },
          { at: ago(5), messages: 20 },
          { at: ago(0), messages: 15 },
        ],
      }),
    'queue-growing',
    null,
  ],
  [
    'samples rose but this run read it falling: no growth',
    () =>
      mq({
        ready: 15,
        messages: 15,
        depthRate: 1,
        depthChange: { from: 25, to: 15, seconds: 1 },
        depthSamples: [
          { at: ago(15), messages: 5 },
          { at: ago(10), messages: 10 },
          { at: ago(5), messages: 20 },
          { at: ago(0), messages: 25 },
        ],
      }),
    'queue-growing',
    null,
  ],
  [
    'management says 0 consumers, the passive declare counts 4: not stuck',
    () => mq({ ready: 30, messages: 30, consumers: 0, consumersConfirmed: 4 }),
    'queue-no-consumers',
    null,
  ],
  ['depth flat', () => mq({ ready: 10, messages: 10, depthRate: 0 }), 'queue-growing', null],
  [
    'consumer utilisation 49 % with a backlog',
    () => mq({ ready: 10, messages: 10, consumerUtilisation: 0.49 }),
    'consumer-utilisation-low',
    'info',
  ],
  [
    'consumer utilisation 50 %',
    () => mq({ ready: 10, messages: 10, consumerUtilisation: 0.5 }),
    'consumer-utilisation-low',
    null,
  ],
  [
    '1 dead-lettered message',
    () => ({
      facts: withFacts(
        healthy(),
        'rabbitmq',
        rabbit({
          queues: [queue(), queue({ name: 'execution_tasks.dlq', messages: 1, ready: 1, consumers: 0 })],
        }),
      ),
    }),
    'dead-letters',
    'warning',
    { messages: 1 },
  ],
  [
    '5 dead letters, 3 rejected by the worker as invalid: the reasons',
    () => ({
      facts: withFacts(
        withFacts(
          healthy(),
          'rabbitmq',
          rabbit({
            queues: [queue(), queue({ name: 'execution_tasks.dlq', messages: 5, ready: 5, consumers: 0 })],
          }),
        ),
        'worker',
        worker({ deadLettered: { invalid: 3 } }),
      ),
    }),
    'dead-letters',
    'warning',
    { messages: 5, reasons: '3 invalid' },
  ],
  ['memory alarm', () => node({ memAlarm: true, memUsed: 1000 * MIB }), 'rabbitmq-memory-alarm', 'critical'],
  ['broker memory 69 % of watermark', () => node({ memUsed: 690 * MIB }), 'rabbitmq-memory', null],
  [
    'broker memory 70 % of watermark',
    () => node({ memUsed: 700 * MIB }),
    'rabbitmq-memory',
    'warning',
    { ratio: 0.7 },
  ],
  ['broker memory 85 % of watermark', () => node({ memUsed: 850 * MIB }), 'rabbitmq-memory', 'critical'],
  ['disk alarm', () => node({ diskAlarm: true, diskFree: 500 * MIB }), 'rabbitmq-disk-alarm', 'critical'],
  [
    'management API down, AMQP answered',
    () => ({
      facts: withFacts(
        healthy(),
        'rabbitmq',
        rabbit({ via: 'amqp', nodes: [], managementError: 'HTTP 401' }),
      ),
    }),
    'rabbitmq-management-unreachable',
    'warning',
  ],
  ['no eviction in the window', () => rd({ evictedInWindow: 0, evictedKeys: 50 }), 'redis-evictions', null],
  [
    '1 eviction in the window',
    () => rd({ evictedInWindow: 1, evictedKeys: 51 }),
    'redis-evictions',
    'warning',
    { evictedInWindow: 1, evictedTotal: 51 },
  ],
  [
    'error replies (OOM)',
    () => rd({ errorRepliesInWindow: 3, errorStats: { OOM: 3 }, errorStatsInWindow: { OOM: 3 } }),
    'redis-errors',
    'warning',
    { errorKindsInWindow: '3 OOM', errorRepliesInWindow: 3 },
  ],
  [
    'lifetime OOM errors, none in the window: no finding, no OOM advice',
    () => rd({ errorRepliesInWindow: 0, errorStats: { OOM: 40 }, errorStatsInWindow: {} }),
    'redis-errors',
    null,
  ],
  ['maxmemory-policy allkeys-lru', () => rd({}), 'redis-maxmemory-policy', null],
  [
    'maxmemory-policy noeviction with a maxmemory',
    () => rd({ maxmemoryPolicy: 'noeviction' }),
    'redis-maxmemory-policy',
    'warning',
    { policy: 'noeviction' },
  ],
  [
    'maxmemory-policy volatile-lru',
    () => rd({ maxmemoryPolicy: 'volatile-lru' }),
    'redis-maxmemory-policy',
    'info',
  ],
  ['Redis memory 74.9 %', () => rd({ usedMemory: 0.749 * 128 * MIB }), 'redis-memory', null],
  ['Redis memory 75 %', () => rd({ usedMemory: 96 * MIB }), 'redis-memory', 'warning', { ratio: 0.75 }],
  ['Redis memory 90 %', () => rd({ usedMemory: 0.9 * 128 * MIB }), 'redis-memory', 'critical'],
  ['Redis memory 95 %', () => rd({ usedMemory: 0.95 * 128 * MIB }), 'redis-memory', 'critical'],
  ['Redis without maxmemory', () => rd({ maxmemory: 0 }), 'redis-no-maxmemory', 'info'],
  [
    "hit rate 49 % under load: Sentinel's Redis is not a cache, no finding",
    () => rd({ hitsInWindow: 49, missesInWindow: 51, hitRate: 0.49 }),
    'redis-hit-rate',
    null,
  ],
  [
    'rejected connections',
    () => rd({ rejectedInWindow: 2, rejectedConnections: 2 }),
    'redis-rejected-connections',
    'warning',
  ],
  ['blocked clients', () => rd({ blockedClients: 1 }), 'redis-blocked-clients', 'info'],
  [
    'fragmentation 1.5',
    () => rd({ fragmentationRatio: 1.5, usedMemory: 64 * MIB }),
    'redis-fragmentation',
    null,
  ],
  [
    'fragmentation 1.51 at 64 MiB',
    () => rd({ fragmentationRatio: 1.51, usedMemory: 64 * MIB }),
    'redis-fragmentation',
    'info',
  ],
  ['1 active worker', () => wk({ workersActive: 1 }), 'worker-down', null],
  [
    '0 active workers, first seen now: pending',
    () => wk({ workersActive: 0 }),
    'worker-down',
    'warning',
    { workersActive: 0, heldSeconds: 0 },
  ],
  [
    '0 active workers for 179 s',
    () => wk({ workersActive: 0 }, { firstSeen: { 'worker-down': ago(179) } }),
    'worker-down',
    'warning',
  ],
  [
    '0 active workers for 180 s: SentinelWorkerDown',
    () => wk({ workersActive: 0 }, { firstSeen: { 'worker-down': ago(180) } }),
    'worker-down',
    'critical',
  ],
  [
    'errors 2/20 = 10 %',
    () => wk({ executionsInWindow: { SUCCESS: 18, INTERNAL_ERROR: 2 } }),
    'high-error-rate',
    null,
  ],
  [
    'errors 3/20 = 15 % in 1 s: pending',
    () => wk({ executionsInWindow: { SUCCESS: 17, TIMEOUT: 3 } }),
    'high-error-rate',
    'info',
    { errors: 3, executions: 20, errorRate: 0.15 },
  ],
  [
    'errors 10/19: too few executions',
    () => wk({ executionsInWindow: { SUCCESS: 9, TIMEOUT: 10 } }),
    'high-error-rate',
    null,
  ],
  [
    'errors 15 % over 5 m of the sample file: SentinelHighErrorRate',
    () =>
      wk(
        {},
        win({
          historySeconds: 300,
          executions: { byStatus: { SUCCESS: 85, RUNTIME_ERROR: 15 }, seconds: 300, source: 'sample-file' },
        }),
      ),
    'high-error-rate',
    'warning',
    { windowSeconds: 300, windowSource: 'sample-file', historySeconds: 300, errors: 15 },
  ],
  [
    'errors 15 % over 2 m of Prometheus history: pending',
    () =>
      wk(
        {},
        win({
          historySeconds: 120,
          executions: { byStatus: { SUCCESS: 85, TIMEOUT: 15 }, seconds: 120, source: 'prometheus' },
        }),
      ),
    'high-error-rate',
    'info',
    { windowSource: 'prometheus' },
  ],
  [
    'errors 6 % over 5 m: above the 5 % validation threshold',
    () =>
      wk(
        {},
        win({
          executions: { byStatus: { SUCCESS: 94, RUNTIME_ERROR: 6 }, seconds: 300, source: 'sample-file' },
        }),
      ),
    'execution-errors-above-validation',
    'info',
    { errors: 6, executions: 100 },
  ],
  [
    'errors 5 % over 5 m: at the validation threshold',
    () =>
      wk(
        {},
        win({
          executions: { byStatus: { SUCCESS: 95, RUNTIME_ERROR: 5 }, seconds: 300, source: 'sample-file' },
        }),
      ),
    'execution-errors-above-validation',
    null,
  ],
  [
    '51 sandbox failures in 5 m',
    () => wk({}, win({ sandboxFailures: { count: 51, seconds: 300, source: 'prometheus' } })),
    'sandbox-failures',
    'critical',
    { failures: 51, windowSource: 'prometheus' },
  ],
  [
    '50 sandbox failures in 5 m',
    () => wk({}, win({ sandboxFailures: { count: 50, seconds: 300, source: 'sample-file' } })),
    'sandbox-failures',
    'info',
  ],
  [
    '0 active workers for 3 m 10 s of the sample file: SentinelWorkerDown',
    () =>
      wk(
        { workersActive: 0 },
        win({ workerDown: { heldSeconds: 190, historySeconds: 200, source: 'sample-file' } }),
      ),
    'worker-down',
    'critical',
    { heldSeconds: 190, windowSource: 'sample-file' },
  ],
  [
    'execution p99 beyond the 30 s bucket over 5 m',
    () =>
      wk(
        {},
        win({
          duration: {
            buckets: [
              { leMs: 1000, count: 80 },
              { leMs: 30_000, count: 90 },
              { leMs: Number.POSITIVE_INFINITY, count: 100 },
            ],
            seconds: 300,
            source: 'sample-file',
          },
        }),
      ),
    'execution-p99-high',
    'warning',
    { beyondLastBucket: true, executions: 100 },
  ],
  [
    'execution p99 under 30 s',
    () =>
      wk(
        {},
        win({
          duration: {
            buckets: [
              { leMs: 1000, count: 99 },
              { leMs: 30_000, count: 100 },
              { leMs: Number.POSITIVE_INFINITY, count: 100 },
            ],
            seconds: 300,
            source: 'sample-file',
          },
        }),
      ),
    'execution-p99-high',
    null,
  ],
  [
    '1 sandbox failure in 1 s: on course for 300 per 5 m',
    () => wk({ sandboxFailuresInWindow: 1 }),
    'sandbox-failures',
    'warning',
    { projectedPer5m: 300 },
  ],
  ['no sandbox failure', () => wk({ sandboxFailuresInWindow: 0 }), 'sandbox-failures', null],
  [
    'pool 4/4 busy with jobs waiting',
    () => ({
      facts: withFacts(mq({ ready: 5, messages: 9, unacked: 4 }).facts, 'worker', worker({ inProgress: 4 })),
    }),
    'worker-pool-saturated',
    'warning',
    { inProgress: 4, poolSize: 4, ready: 5 },
  ],
  [
    'pool 3/4 busy with jobs waiting',
    () => ({ facts: withFacts(mq({ ready: 5, messages: 8 }).facts, 'worker', worker({ inProgress: 3 })) }),
    'worker-pool-saturated',
    null,
  ],
  [
    'CPU 95 % over 60 s with every slot busy',
    () => ({
      facts: withFacts(hs({ cpuUsage: 0.95 }).facts, 'worker', worker({ inProgress: 4 })),
      ctx: win({ cpu: { usage: 0.95, seconds: 60, source: 'sample-file', wasHigh: false } }),
    }),
    'worker-cpu-saturated',
    'warning',
  ],
  [
    'CPU 95 % over 60 s with free slots: others burn it',
    () => ({
      facts: withFacts(hs({ cpuUsage: 0.95 }).facts, 'worker', worker({ inProgress: 2 })),
      ctx: win({ cpu: { usage: 0.95, seconds: 60, source: 'sample-file', wasHigh: false } }),
    }),
    'worker-cpu-saturated',
    null,
  ],
  [
    'CPU 100 % in one 1 s look: not sustained',
    () => ({ facts: withFacts(hs({ cpuUsage: 1 }).facts, 'worker', worker({ inProgress: 4 })) }),
    'worker-cpu-saturated',
    null,
  ],
  [
    '2 OOM kills, 1 MEMORY_LIMIT_EXCEEDED',
    () => ({
      facts: withFacts(
        hs({ oomKillsInWindow: 2 }).facts,
        'worker',
        worker({ executionsInWindow: { MEMORY_LIMIT_EXCEEDED: 1 } }),
      ),
    }),
    'worker-oom-kills',
    'critical',
    { oomKills: 2, memoryLimitExceeded: 1 },
  ],
  [
    '1 OOM kill = 1 MEMORY_LIMIT_EXCEEDED',
    () => ({
      facts: withFacts(
        hs({ oomKillsInWindow: 1 }).facts,
        'worker',
        worker({ executionsInWindow: { MEMORY_LIMIT_EXCEEDED: 1 } }),
      ),
    }),
    'worker-oom-kills',
    null,
  ],
  [
    'API degraded: rabbitmq down',
    () => ({
      facts: withFacts(
        healthy(),
        'api',
        api({
          status: 'degraded',
          httpStatus: 503,
          services: { postgres: 'ok', rabbitmq: 'down', redis: 'ok' },
        }),
      ),
    }),
    'api-unhealthy',
    'critical',
    { httpStatus: 503, rabbitmq: 'down' },
  ],
  [
    'API p95 250 ms over 100 requests: SARK warning band',
    () => ({
      facts: withFacts(
        healthy(),
        'api',
        api({ requests: { total: 100, byCode: { '202': 100 }, p95Ms: 250, p99Ms: 400, seconds: 2 } }),
      ),
    }),
    'api-latency',
    'warning',
    { p95Ms: 250 },
  ],
  [
    'API p95 150 ms: above the 100 ms target, information',
    () => ({
      facts: withFacts(
        healthy(),
        'api',
        api({ requests: { total: 100, byCode: { '202': 100 }, p95Ms: 150, p99Ms: 180, seconds: 2 } }),
      ),
    }),
    'api-latency',
    'info',
  ],
  [
    'API 503s in the window',
    () => ({
      facts: withFacts(
        healthy(),
        'api',
        api({ requests: { total: 50, byCode: { '202': 45, '503': 5 }, p95Ms: 20, p99Ms: 30, seconds: 2 } }),
      ),
    }),
    'api-5xx',
    'warning',
    { errors: 5, codes: '5 × 503' },
  ],
  [
    '429 for 20 % of requests',
    () => ({
      facts: withFacts(
        healthy(),
        'api',
        api({ requests: { total: 50, byCode: { '202': 40, '429': 10 }, p95Ms: 20, p99Ms: 30, seconds: 2 } }),
      ),
    }),
    'api-rate-limited',
    'info',
    { rateLimited: 10 },
  ],
  [
    'QUEUED rows 2 min old, empty task queue: lost',
    () => ({
      facts: withFacts(healthy(), 'postgres', postgres({ queuedJobs: { count: 2, oldestSeconds: 120 } })),
    }),
    'queued-jobs-lost',
    'critical',
    { queuedJobs: 2, queueMessages: 0 },
  ],
  [
    'QUEUED rows 30 s old, empty task queue: in flight',
    () => ({
      facts: withFacts(healthy(), 'postgres', postgres({ queuedJobs: { count: 2, oldestSeconds: 30 } })),
    }),
    'queued-jobs-lost',
    null,
  ],
  [
    'oldest QUEUED 6 min with messages waiting',
    () => ({
      facts: withFacts(
        mq({ messages: 40, ready: 40 }).facts,
        'postgres',
        postgres({ queuedJobs: { count: 40, oldestSeconds: 360 } }),
      ),
    }),
    'queued-jobs-old',
    'warning',
    { oldestSeconds: 360 },
  ],
  [
    'jobs RUNNING past time limit + grace: stuck',
    () => ({
      facts: withFacts(healthy(), 'postgres', postgres({ stuckJobs: { count: 3, oldestSeconds: 640 } })),
    }),
    'jobs-stuck',
    'critical',
    { stuckJobs: 3, oldestSeconds: 640 },
  ],
  [
    'no stuck jobs',
    () => ({
      facts: withFacts(healthy(), 'postgres', postgres({ stuckJobs: { count: 0, oldestSeconds: null } })),
    }),
    'jobs-stuck',
    null,
  ],
  ['RabbitMQ fds 79 %', () => node({ fdUsed: 790, fdTotal: 1000 }), 'rabbitmq-file-descriptors', null],
  ['RabbitMQ fds 80 %', () => node({ fdUsed: 800, fdTotal: 1000 }), 'rabbitmq-file-descriptors', 'warning'],
  ['RabbitMQ fds 95 %', () => node({ fdUsed: 950, fdTotal: 1000 }), 'rabbitmq-file-descriptors', 'critical'],
  ['CPU 59 %', () => hs({ cpuUsage: 0.59 }), 'host-cpu', null],
  ['CPU 60 % in one look: information', () => hs({ cpuUsage: 0.6 }), 'host-cpu', 'info'],
  ['CPU 100 % in one look: information, never critical', () => hs({ cpuUsage: 1 }), 'host-cpu', 'info'],
  [
    'CPU 90 % over 60 s: warning',
    () => ({
      ...hs({ cpuUsage: 0.5 }),
      ctx: win({ cpu: { usage: 0.9, seconds: 60, source: 'sample-file', wasHigh: false } }),
    }),
    'host-cpu',
    'warning',
    { cpuUsage: 0.9, windowSeconds: 60 },
  ],
  [
    'CPU 85 % over 60 s, not firing before: information (enters at 90 %)',
    () => ({
      ...hs({ cpuUsage: 0.5 }),
      ctx: win({ cpu: { usage: 0.85, seconds: 60, source: 'sample-file', wasHigh: false } }),
    }),
    'host-cpu',
    'info',
  ],
  [
    'CPU 85 % over 60 s, firing before: stays a warning (leaves under 80 %)',
    () => ({
      ...hs({ cpuUsage: 0.5 }),
      ctx: win({ cpu: { usage: 0.85, seconds: 60, source: 'sample-file', wasHigh: true } }),
    }),
    'host-cpu',
    'warning',
    { wasHigh: true },
  ],
  ['memory 69 %', () => hs({ memoryUsed: 2760 * MIB }), 'host-memory', null],
  ['memory 70 %', () => hs({ memoryUsed: 2800 * MIB }), 'host-memory', 'warning'],
  ['memory 85 %', () => hs({ memoryUsed: 3400 * MIB }), 'host-memory', 'critical'],
  [
    'PostgreSQL down',
    () => ({ facts: down(healthy(), 'postgres') }),
    'postgres-unreachable',
    'critical',
    { error: 'connect ECONNREFUSED 127.0.0.1:1' },
  ],
  ['RabbitMQ down', () => ({ facts: down(healthy(), 'rabbitmq') }), 'rabbitmq-unreachable', 'critical'],
  ['Redis down', () => ({ facts: down(healthy(), 'redis') }), 'redis-unreachable', 'critical'],
  ['worker metrics down', () => ({ facts: down(healthy(), 'worker') }), 'worker-unreachable', 'critical'],
  ['API down', () => ({ facts: down(healthy(), 'api') }), 'api-unreachable', 'critical'],
  ['host facts unreadable', () => ({ facts: down(healthy(), 'host') }), 'host-unreachable', 'warning'],
];

describe('diagnose rules', () => {
  test('a healthy stack has no findings', () => {
    expect(evaluate(healthy(), context())).toEqual([]);
  });

  test("host figures name whose host they are: against remote targets, sentinel-ctl's machine", () => {
    const facts = hs({ cpuUsage: 1 }).facts;
    facts.host = { ...facts.host, target: 'build-box (this machine)' } as typeof facts.host;
    const remote = evaluate(facts, context({ remote: true })).find((f) => f.id === 'host-cpu')!;
    expect(remote.title).toMatch(
      /^this machine \(build-box, where sentinel-ctl runs, not the services' hosts\) CPU at 100 %/,
    );
    const local = evaluate(facts, context()).find((f) => f.id === 'host-cpu')!;
    expect(local.title).toMatch(/^host CPU at 100 %/);
  });

  test.each(rows.map((r) => [`${r[2]} ${r[3] ?? 'none'}: ${r[0]}`, ...r.slice(1)] as Row))(
    '%s',
    (_name, build, id, expected, evidence) => {
      const { facts, ctx } = build();
      const found = evaluate(facts, context(ctx)).filter((f) => f.id === id);
      if (expected === null) {
        expect(found).toEqual([]);
        return;
      }
      expect(found.map((f) => f.severity)).toEqual([expected]);
      const f = found[0]!;
      if (evidence) expect(f.evidence).toMatchObject(evidence);
      // Every finding names its evidence, bottleneck, fix and source.
      expect(f.title.length).toBeGreaterThan(0);
      expect(f.bottleneck.length).toBeGreaterThan(0);
      expect(f.fix.length).toBeGreaterThan(0);
      expect(f.source.guide).toMatch(/\.md$/);
    },
  );

  test('every rule has at least one firing row', () => {
    const fired = [...new Set(rows.filter((r) => r[3] !== null).map((r) => r[2]))].sort();
    expect(fired).toEqual(
      [
        'api-5xx',
        'api-latency',
        'api-rate-limited',
        'api-unhealthy',
        'api-unreachable',
        'consumer-utilisation-low',
        'dead-letters',
        'high-error-rate',
        'execution-errors-above-validation',
        'execution-p99-high',
        'host-cpu',
        'host-memory',
        'host-unreachable',
        'jobs-stuck',
        'pg-blocked-sessions',
        'pg-cache-hit-ratio',
        'pg-connections-saturation',
        'pg-dead-tuples',
        'pg-deadlocks',
        'pg-idle-in-transaction',
        'pg-long-running-query',
        'pg-pool-usage',
        'pg-slow-queries',
        'pg-stat-statements-missing',
        'pg-unused-indexes',
        'pgx-pool-exhaustion',
        'postgres-unreachable',
        'queue-backlog',
        'queue-growing',
        'queue-no-consumers',
        'queued-jobs-lost',
        'queued-jobs-old',
        'rabbitmq-file-descriptors',
        'rabbitmq-disk-alarm',
        'rabbitmq-management-unreachable',
        'rabbitmq-memory',
        'rabbitmq-memory-alarm',
        'rabbitmq-unreachable',
        'redis-blocked-clients',
        'redis-errors',
        'redis-evictions',
        'redis-fragmentation',
        'redis-maxmemory-policy',
        'redis-memory',
        'redis-no-maxmemory',
        'redis-rejected-connections',
        'redis-unreachable',
        'sandbox-failures',
        'worker-cpu-saturated',
        'worker-down',
        'worker-oom-kills',
        'worker-pool-saturated',
        'worker-unreachable',
      ].sort(),
    );
  });

  test('a component down is reported and the others are still evaluated', () => {
    const facts = down(
      withFacts(healthy(), 'redis', redis({ evictedInWindow: 5, evictedKeys: 5 })),
      'rabbitmq',
    );
    const ids = evaluate(facts, context()).map((f) => f.id);
    expect(ids).toEqual(['rabbitmq-unreachable', 'redis-evictions']);
  });

  test('findings rank critical first, then along the request path', () => {
    const f = (id: string, severity: Severity, component: Finding['component']): Finding => ({
      id,
      severity,
      component,
      title: id,
      evidence: {},
      detail: '',
      bottleneck: '',
      fix: '',
      source: { guide: 'g.md', section: 's' },
    });
    const ranked = rankFindings([
      f('h', 'info', 'host'),
      f('r', 'warning', 'redis'),
      f('p', 'critical', 'postgres'),
      f('a', 'critical', 'api'),
    ]);
    expect(ranked.map((x) => x.id)).toEqual(['a', 'p', 'r', 'h']);
  });

  test('sustained conditions keep their first-seen time; cleared ones drop it', () => {
    const first = evaluate(mq({ messages: 2000, ready: 2000, consumers: 1 }).facts, context());
    const seen = nextFirstSeen(first);
    expect(seen).toEqual({ 'queue-backlog': NOW });
    const later = evaluate(
      mq({ messages: 2000, ready: 2000, consumers: 1 }).facts,
      context({ now: NOW + 301_000, firstSeen: seen }),
    );
    expect(later.find((x) => x.id === 'queue-backlog')?.severity).toBe('warning');
    expect(nextFirstSeen(later)).toEqual({ 'queue-backlog': NOW });
    expect(nextFirstSeen(evaluate(healthy(), context({ firstSeen: seen })))).toEqual({});
  });
});
