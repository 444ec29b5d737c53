import { describe, expect, test } from 'vitest';
import { evaluate, nextFirstSeen, rankFindings } from '../../../src/diagnose/rules/index.js';
import type { Facts, Finding, PgSession, RuleContext, Severity } from '../../../src/diagnose/types.js';
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
  pg({ connections: { total, byState: { idle: total }, appUser: 'sentinel', appTotal: 0, appInUse: 0 } });
const pool = (inUse: number, cpu: number | null) => ({
  facts: withFacts(
    withFacts(healthy(), 'host', host({ cpuUsage: cpu })),
    'postgres',
    postgres({
      connections: {
        total: inUse,
        byState: { active: inUse },
        appUser: 'sentinel',
        appTotal: inUse,
        appInUse: inUse,
      },
    }),
  ),
});
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
    'pool 10/20 busy: warning',
    () => pool(10, 0.7),
    'pg-pool-usage',
    'warning',
    { inUse: 10, poolCapacity: 20 },
  ],
  ['pool 16/20 busy: critical', () => pool(16, 0.7), 'pg-pool-usage', 'critical'],
  [
    'pool 19/20 busy, CPU 70 %: critical usage, not the symptom',
    () => pool(19, 0.7),
    'pgx-pool-exhaustion',
    null,
  ],
  [
    'pool 19/20 busy, CPU 59 %: pgx pool exhaustion',
    () => pool(19, 0.59),
    'pgx-pool-exhaustion',
    'critical',
    { inUse: 19, cpuUsage: 0.59 },
  ],
  ['pool 19/20 busy, CPU unknown: usage', () => pool(19, null), 'pg-pool-usage', 'critical'],
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
        },
      }),
    'pg-slow-queries',
    'warning',
    { meanMs: 100.1 },
  ],
  [
    'unused index, table scanned 999 times',
    () => pg({ unusedIndexes: [{ table: 't', index: 'i', sizeBytes: 8192, tableScans: 999 }] }),
    'pg-unused-indexes',
    null,
  ],
  [
    'unused index, table scanned 1000 times',
    () => pg({ unusedIndexes: [{ table: 't', index: 'i', sizeBytes: 8192, tableScans: 1000 }] }),
    'pg-unused-indexes',
    'info',
    { indexes: 't.i', totalBytes: 8192 },
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
    'queue 1001 for 299 s',
    () => mq({ messages: 1001, ready: 1001 }, { firstSeen: { 'queue-backlog': ago(299) } }),
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
    'depth rising 0.5/s with consumers',
    () => mq({ ready: 10, messages: 10, depthRate: 0.5 }),
    'queue-growing',
    'warning',
    { depthRate: 0.5 },
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
    () => rd({ errorRepliesInWindow: 3, errorStats: { OOM: 3 } }),
    'redis-errors',
    'warning',
    { errorStats: 'OOM 3' },
  ],
  ['Redis memory 74.9 %', () => rd({ usedMemory: 0.749 * 128 * MIB }), 'redis-memory', null],
  ['Redis memory 75 %', () => rd({ usedMemory: 96 * MIB }), 'redis-memory', 'warning', { ratio: 0.75 }],
  ['Redis memory 90 %', () => rd({ usedMemory: 0.9 * 128 * MIB }), 'redis-memory', 'critical'],
  ['Redis memory 95 %', () => rd({ usedMemory: 0.95 * 128 * MIB }), 'redis-memory', 'critical'],
  ['Redis without maxmemory', () => rd({ maxmemory: 0 }), 'redis-no-maxmemory', 'info'],
  [
    'hit rate 79 % over 100 lookups',
    () => rd({ hitsInWindow: 79, missesInWindow: 21, hitRate: 0.79 }),
    'redis-hit-rate',
    'warning',
    { hits: 79, misses: 21 },
  ],
  ['hit rate 80 %', () => rd({ hitsInWindow: 80, missesInWindow: 20, hitRate: 0.8 }), 'redis-hit-rate', null],
  [
    'hit rate 50 % over 99 lookups',
    () => rd({ hitsInWindow: 50, missesInWindow: 49, hitRate: 50 / 99 }),
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
    'errors 15 % over the 5-minute history',
    () => wk({}, { fiveMinute: { executions: { total: 100, errors: 15, seconds: 300 } } }),
    'high-error-rate',
    'warning',
    { windowSeconds: 300 },
  ],
  [
    '51 sandbox failures in 5 m',
    () => wk({}, { fiveMinute: { sandboxFailures: { count: 51, seconds: 300 } } }),
    'sandbox-failures',
    'critical',
    { failures: 51 },
  ],
  [
    '50 sandbox failures in 5 m',
    () => wk({}, { fiveMinute: { sandboxFailures: { count: 50, seconds: 300 } } }),
    'sandbox-failures',
    'info',
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
    'CPU 95 % with executions running',
    () => ({ facts: withFacts(hs({ cpuUsage: 0.95 }).facts, 'worker', worker({ inProgress: 2 })) }),
    'worker-cpu-saturated',
    'warning',
  ],
  [
    'CPU 94.9 % with executions running',
    () => ({ facts: withFacts(hs({ cpuUsage: 0.949 }).facts, 'worker', worker({ inProgress: 2 })) }),
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
  ['CPU 59 %', () => hs({ cpuUsage: 0.59 }), 'host-cpu', null],
  ['CPU 60 %', () => hs({ cpuUsage: 0.6 }), 'host-cpu', 'warning'],
  ['CPU 80 %', () => hs({ cpuUsage: 0.8 }), 'host-cpu', 'critical'],
  ['CPU 90 %', () => hs({ cpuUsage: 0.9 }), 'host-cpu', 'critical'],
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
        'api-unhealthy',
        'api-unreachable',
        'consumer-utilisation-low',
        'dead-letters',
        'high-error-rate',
        'host-cpu',
        'host-memory',
        'host-unreachable',
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
        'rabbitmq-disk-alarm',
        'rabbitmq-management-unreachable',
        'rabbitmq-memory',
        'rabbitmq-memory-alarm',
        'rabbitmq-unreachable',
        'redis-blocked-clients',
        'redis-errors',
        'redis-evictions',
        'redis-fragmentation',
        'redis-hit-rate',
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
