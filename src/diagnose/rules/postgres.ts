/**
 * PostgreSQL rules: connection saturation (SARK resource targets; tuning guide symptom "high p99
 * latency, low CPU → pgx pool exhaustion"), sessions idle in transaction and long-running queries
 * (SARK optimization "Database Connection Pool Exhausted": connection leaks, transactions older than
 * 5 minutes), lock waits, the buffer cache, slow statements, unused indexes and dead tuples.
 */
import { classifyDbConnections, classifyResource } from '../../tuners/resource-targets.js';
import { diagnoseSources as src } from '../sources.js';
import type { Facts, Finding, PostgresFacts, RuleContext } from '../types.js';
import { bandSeverity } from './common.js';
import { bytes, count, pct, secs } from './format.js';

/** SARK optimization "Database Connection Pool Exhausted": transactions running > 5 minutes. */
export const LONG_TRANSACTION_CRITICAL_S = 300;
/**
 * Tool heuristic: an API or worker transaction lasts milliseconds; one idle in transaction for 10 s
 * holds a pooled connection and its locks for nothing (the guide's "connection leaks").
 */
export const IDLE_IN_TX_WARNING_S = 10;
/** Tool heuristic: an OLTP statement active for 5 s is far past the SARK "Database Query" critical p95 of 100 ms. */
export const LONG_QUERY_WARNING_S = 5;
/** SARK optimization "Slow Queries": queries taking > 100 ms. */
export const SLOW_QUERY_MS = 100;
/** SARK "Cache Performance Tuning": target > 80 % hit rate (applied to the buffer cache too). */
export const CACHE_HIT_TARGET = 0.8;
/** PostgreSQL community heuristic: an OLTP working set is served from shared_buffers ≥ 99 % of the time. */
export const PG_CACHE_HIT_HEURISTIC = 0.99;
/** Fewer block accesses than this in the window say nothing about the cache. */
export const MIN_CACHE_BLOCKS = 1000;
/** An index never scanned while its table was scanned this often is a candidate to drop. */
export const UNUSED_INDEX_MIN_TABLE_SCANS = 1000;
/**
 * Below this table size the planner reads the whole table rather than an index (a few pages cost
 * less than an index lookup), so idx_scan = 0 there says nothing about whether the index is needed.
 */
export const UNUSED_INDEX_MIN_TABLE_BYTES = 8 * 1024 * 1024;
/** A statement needs this many calls in the window before its mean counts as "slow". */
export const SLOW_QUERY_MIN_CALLS = 3;
/**
 * Latency evidence for pool exhaustion: the API's health check (one SELECT 1 through its pool)
 * or its request p95 at or above SARK's critical API response time.
 */
export const POOL_WAIT_EVIDENCE_MS = 500;
/** PostgreSQL's autovacuum_vacuum_scale_factor default: 20 % dead tuples. */
export const DEAD_TUPLE_RATIO = 0.2;
export const DEAD_TUPLE_MIN = 10_000;
/** SARK "Resource Targets": CPU under 60 % is on target, i.e. "low CPU" in the symptom row. */
export const LOW_CPU = 0.6;

function connections(pg: PostgresFacts, facts: Facts, ctx: RuleContext, cpu: number | null): Finding[] {
  const out: Finding[] = [];
  const usable = pg.maxConnections - pg.superuserReservedConnections;
  if (usable > 0) {
    const c = classifyResource('dbConnections', pg.connections.total, usable);
    const severity = bandSeverity(c);
    if (severity) {
      const states = Object.entries(pg.connections.byState)
        .map(([s, v]) => `${v} ${s}`)
        .join(', ');
      out.push({
        id: 'pg-connections-saturation',
        component: 'postgres',
        severity,
        title: `PostgreSQL connections at ${pct(c.ratio)} of max_connections`,
        evidence: {
          connections: pg.connections.total,
          maxConnections: pg.maxConnections,
          superuserReserved: pg.superuserReservedConnections,
          usable,
          ratio: Number(c.ratio.toFixed(3)),
        },
        detail: `${pg.connections.total} client connections (${states}) of ${usable} usable (max_connections ${pg.maxConnections} − ${pg.superuserReservedConnections} reserved): ${c.reason}. New connections fail once they are all taken.`,
        bottleneck: 'PostgreSQL connection slots',
        fix: `Close idle connections (pool_min_conns, pool_max_conn_idle_time) or raise max_connections to ≥ the sum of every pool + 10 (tuning guide "PostgreSQL Connection Pool").`,
        command: 'sentinel-ctl tune check',
        source: src.resourceTargets,
      });
    }
  }
  // The API's own pool: its sessions are named (application_name sentinel-api); against a
  // deployment that does not name them, all sessions of the application role stand in.
  const api = pg.connections.api;
  const pool = api ? ctx.apiReplicas * ctx.poolMaxConns : pg.pool.capacity;
  const inUse = api ? api.inUse : pg.connections.appInUse;
  const open = api ? api.total : pg.connections.appTotal;
  if (pool > 0) {
    const c = classifyDbConnections(inUse, pool);
    const lowCpu = cpu !== null && cpu < LOW_CPU;
    const a = facts.api.ok ? facts.api.facts : undefined;
    const waits: string[] = [];
    if (a && a.latencyMs >= POOL_WAIT_EVIDENCE_MS) waits.push(`health check ${Math.round(a.latencyMs)} ms`);
    if (a?.requests?.p95Ms != null && a.requests.p95Ms >= POOL_WAIT_EVIDENCE_MS)
      waits.push(`request p95 ${Math.round(a.requests.p95Ms)} ms`);
    if (a && /timeout/i.test(a.services.postgres ?? ''))
      waits.push(`API's database check: ${a.services.postgres}`);
    const exhausted = c.level === 'exceeded' && waits.length > 0;
    if (exhausted || c.level !== 'ok') {
      const who = api ? `the API (application_name ${api.application})` : `${pg.connections.appUser}`;
      out.push({
        id: exhausted ? 'pgx-pool-exhaustion' : 'pg-pool-usage',
        component: 'postgres',
        severity: exhausted ? 'critical' : 'info',
        title: exhausted
          ? `pgx pool exhausted: ${inUse} of ${pool} connections busy and requests wait (${waits[0]})`
          : `Database pool ${pct(c.ratio)} in use (${inUse} of ${pool}), requests not waiting`,
        evidence: {
          inUse,
          open,
          poolCapacity: pool,
          ratio: Number(c.ratio.toFixed(3)),
          cpuUsage: cpu,
          latencyEvidence: waits.join('; ') || null,
          counted: api ? 'api' : 'application role',
        },
        detail: `${inUse} connections of ${who} busy (active or in a transaction), ${open} open, against ${pool} (${ctx.apiReplicas} API × pool_max_conns ${ctx.poolMaxConns}): ${c.reason}.${exhausted ? ` Requests wait for a connection: ${waits.join('; ')}${lowCpu ? ', with CPU low' : ''}.` : ' No latency evidence (health check and request p95 are fast): busy, not exhausted.'}`,
        bottleneck: exhausted ? 'pgx pool exhaustion' : 'none yet (database pool)',
        fix: 'Increase pool_max_conns (≈ 3 × cores on SSD) within max_connections, and look for sessions idle in transaction or blocked.',
        command: 'sentinel-ctl tune pool --write',
        source: exhausted ? src.symptoms : src.resourceTargets,
      });
    }
  }
  return out;
}

function sessions(pg: PostgresFacts): Finding[] {
  const out: Finding[] = [];
  const idle = pg.idleInTransaction.filter((s) => s.seconds >= IDLE_IN_TX_WARNING_S);
  if (idle.length) {
    const worst = idle[0]!;
    out.push({
      id: 'pg-idle-in-transaction',
      component: 'postgres',
      severity: worst.seconds >= LONG_TRANSACTION_CRITICAL_S ? 'critical' : 'warning',
      title: `${idle.length} session${idle.length > 1 ? 's' : ''} idle in transaction, longest ${secs(worst.seconds)}`,
      evidence: {
        sessions: idle.length,
        longestSeconds: worst.seconds,
        pid: worst.pid,
        user: worst.user,
        application: worst.application,
        lastQuery: worst.query,
      },
      detail: `pid ${worst.pid} (${worst.user ?? '?'}${worst.application ? `, ${worst.application}` : ''}) has been idle in transaction for ${secs(worst.seconds)} after "${worst.query}". It holds a pooled connection and its locks, and blocks vacuum.`,
      bottleneck: 'connection leak (uncommitted transaction)',
      fix: `Commit or roll back in the application; end it now with SELECT pg_terminate_backend(${worst.pid}); set idle_in_transaction_session_timeout.`,
      source: src.sarkPoolExhausted,
    });
  }
  const long = pg.longRunning.filter((s) => s.seconds >= LONG_QUERY_WARNING_S);
  if (long.length) {
    const worst = long[0]!;
    out.push({
      id: 'pg-long-running-query',
      component: 'postgres',
      severity: worst.seconds >= LONG_TRANSACTION_CRITICAL_S ? 'critical' : 'warning',
      title: `${long.length} quer${long.length > 1 ? 'ies' : 'y'} running, longest ${secs(worst.seconds)}`,
      evidence: {
        queries: long.length,
        longestSeconds: worst.seconds,
        pid: worst.pid,
        query: worst.query,
        waitEvent: worst.waitEvent,
      },
      detail: `pid ${worst.pid} has run "${worst.query}" for ${secs(worst.seconds)}${worst.waitEvent ? ` (waiting on ${worst.waitEvent})` : ''}.`,
      bottleneck: 'slow query',
      fix: `EXPLAIN ANALYZE the query and add the missing index; cancel it with SELECT pg_cancel_backend(${worst.pid}).`,
      source: src.sarkPoolExhausted,
    });
  }
  if (pg.blocked.length) {
    const worst = [...pg.blocked].sort((a, b) => b.seconds - a.seconds)[0]!;
    const blockers = [...new Set(pg.blocked.flatMap((s) => s.blockedBy ?? []))];
    out.push({
      id: 'pg-blocked-sessions',
      component: 'postgres',
      severity: 'warning',
      title: `${pg.blocked.length} session${pg.blocked.length > 1 ? 's' : ''} waiting on locks held by pid ${blockers.join(', ')}`,
      evidence: {
        blocked: pg.blocked.length,
        blockers: blockers.join(','),
        longestWaitSeconds: worst.seconds,
        query: worst.query,
      },
      detail: `pid ${worst.pid} has waited ${secs(worst.seconds)} on "${worst.query}", blocked by pid ${worst.blockedBy?.join(', ')}.`,
      bottleneck: 'lock contention',
      fix: 'Finish or terminate the blocking transaction (often one idle in transaction); keep transactions short.',
      source: src.sarkPoolExhausted,
    });
  }
  return out;
}

function efficiency(pg: PostgresFacts): Finding[] {
  const out: Finding[] = [];
  const ratio = pg.cache.hitRatio;
  if (ratio !== null && pg.cache.blocks >= MIN_CACHE_BLOCKS && ratio < PG_CACHE_HIT_HEURISTIC) {
    const below = ratio < CACHE_HIT_TARGET;
    out.push({
      id: 'pg-cache-hit-ratio',
      component: 'postgres',
      severity: below ? 'warning' : 'info',
      title: `PostgreSQL buffer cache hit ratio ${pct(ratio)}`,
      evidence: { hitRatio: Number(ratio.toFixed(4)), blocks: pg.cache.blocks },
      detail: `${pct(ratio)} of ${count(pg.cache.blocks)} block reads in the window came from shared_buffers (${below ? 'below the 80 % target' : 'below the 99 % usual for OLTP, a community heuristic'}).`,
      bottleneck: 'disk reads (working set larger than shared_buffers)',
      fix: 'Raise shared_buffers (≈ 25 % of RAM) or add the index the scans are missing.',
      source: below ? src.sarkCacheHitRate : src.sarkQueryPerformance,
    });
  }
  if (!pg.statStatements.available) {
    out.push({
      id: 'pg-stat-statements-missing',
      component: 'postgres',
      severity: 'info',
      title: 'pg_stat_statements is not available: no top-query list',
      evidence: { reason: pg.statStatements.reason },
      detail: `Top queries need pg_stat_statements: ${pg.statStatements.reason}.`,
      bottleneck: 'none (visibility)',
      fix: 'Add pg_stat_statements to shared_preload_libraries and run CREATE EXTENSION pg_stat_statements (the local stack does both).',
      source: src.sarkQueryPerformance,
    });
  } else {
    // Over the window only (calls and time added between two samples, with a minimum of calls):
    // a lifetime average keeps one old 40 s query "slow" until the statistics are reset.
    const slow = (pg.statStatements.window ?? []).filter(
      (q) => q.meanMs > SLOW_QUERY_MS && q.calls >= SLOW_QUERY_MIN_CALLS,
    );
    if (slow.length) {
      const worst = slow[0]!;
      out.push({
        id: 'pg-slow-queries',
        component: 'postgres',
        severity: 'warning',
        title: `${slow.length} statement${slow.length > 1 ? 's' : ''} average over ${SLOW_QUERY_MS} ms in the window`,
        evidence: {
          statements: slow.length,
          meanMs: worst.meanMs,
          calls: worst.calls,
          query: worst.query,
        },
        detail: `"${worst.query}" averaged ${worst.meanMs} ms over its ${count(worst.calls)} calls in the window.`,
        bottleneck: 'slow queries',
        fix: 'Run ANALYZE, check the plan with EXPLAIN ANALYZE, add the missing index.',
        source: src.sarkSlowQueries,
      });
    }
  }
  const unused = pg.unusedIndexes.filter(
    (i) => i.tableScans >= UNUSED_INDEX_MIN_TABLE_SCANS && i.tableBytes >= UNUSED_INDEX_MIN_TABLE_BYTES,
  );
  if (unused.length) {
    out.push({
      id: 'pg-unused-indexes',
      component: 'postgres',
      severity: 'info',
      title: `${unused.length} index${unused.length > 1 ? 'es' : ''} never scanned`,
      evidence: {
        indexes: unused.map((i) => `${i.table}.${i.index}`).join(', '),
        totalBytes: unused.reduce((a, i) => a + i.sizeBytes, 0),
      },
      detail: `${unused.map((i) => `${i.index} on ${i.table} (${bytes(i.sizeBytes)}, table scanned ${count(i.tableScans)} times)`).join('; ')}: idx_scan = 0 since the statistics were reset. Each one slows every write.`,
      bottleneck: 'write amplification',
      fix: 'Drop indexes no query needs (check replicas and rare reports first).',
      source: src.sarkIndexUsage,
    });
  }
  const bloated = pg.bloat.filter((b) => b.deadRatio >= DEAD_TUPLE_RATIO && b.dead >= DEAD_TUPLE_MIN);
  if (bloated.length) {
    const worst = bloated[0]!;
    out.push({
      id: 'pg-dead-tuples',
      component: 'postgres',
      severity: 'info',
      title: `${worst.table}: ${pct(worst.deadRatio)} dead tuples`,
      evidence: {
        table: worst.table,
        dead: worst.dead,
        live: worst.live,
        deadRatio: Number(worst.deadRatio.toFixed(3)),
        lastAutovacuum: worst.lastAutovacuum,
      },
      detail: `${count(worst.dead)} dead vs ${count(worst.live)} live tuples in ${worst.table}; last autovacuum ${worst.lastAutovacuum ?? 'never'}.`,
      bottleneck: 'table bloat',
      fix: `VACUUM ANALYZE ${worst.table}; check for long transactions holding back vacuum.`,
      source: src.sarkQueryProfiling,
    });
  }
  if ((pg.deadlocksInWindow ?? 0) > 0) {
    out.push({
      id: 'pg-deadlocks',
      component: 'postgres',
      severity: 'warning',
      title: `${pg.deadlocksInWindow} deadlock${pg.deadlocksInWindow! > 1 ? 's' : ''} in the window`,
      evidence: { deadlocks: pg.deadlocksInWindow },
      detail: `PostgreSQL aborted ${pg.deadlocksInWindow} transaction(s) to break deadlocks during the sample window.`,
      bottleneck: 'lock ordering',
      fix: 'Take row locks in one consistent order; keep transactions short.',
      source: src.sarkPoolExhausted,
    });
  }
  return out;
}

export function postgresRules(facts: Facts, ctx: RuleContext): Finding[] {
  if (!facts.postgres.ok) return [];
  const pg = facts.postgres.facts;
  const cpu = facts.host.ok ? facts.host.facts.cpuUsage : null;
  return [...connections(pg, facts, ctx, cpu), ...sessions(pg), ...efficiency(pg)];
}
