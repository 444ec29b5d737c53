/**
 * PostgreSQL: connections by state against max_connections and the configured pools, sessions idle
 * in transaction, long-running and blocked queries, the buffer cache hit ratio over the window,
 * pg_stat_statements' slowest queries (when the extension is there), unused indexes, dead tuples,
 * and jobs still QUEUED. Queries follow the SARK optimization guide's "Monitoring" and
 * "Troubleshooting" SQL, widened to what the rules need.
 */
import pg from 'pg';
import { maskUrl } from '../../lib/redact.js';
import { pgClientUrl } from '../../services/endpoints.js';
import type { PgSession, PostgresFacts } from '../types.js';
import { withTimeout } from './timeout.js';
import { type Collector, increase, windowOf } from './types.js';

const IN_USE_STATES = new Set([
  'active',
  'idle in transaction',
  'idle in transaction (aborted)',
  'fastpath function call',
]);

/** The application_name the API's pool connects with (src/api/server.ts). */
export const API_APPLICATION_NAME = 'sentinel-api';

export interface PostgresSample {
  at: number;
  version: string;
  maxConnections: number;
  superuserReserved: number;
  user: string;
  sessions: Array<PgSession & { xactSeconds: number | null }>;
  counters: { hit: number; read: number; commits: number; rollbacks: number; deadlocks: number };
  statStatements: PostgresFacts['statStatements'];
  unusedIndexes: PostgresFacts['unusedIndexes'];
  bloat: PostgresFacts['bloat'];
  queuedJobs: PostgresFacts['queuedJobs'];
  /** What could not be read because a lock was held past the lock timeout. */
  locked: string[];
  /** queryid → calls and total time, for deltas over the window. */
  statementCounters: Record<string, { query: string; calls: number; totalMs: number }>;
}

// One round trip for the cheap statistics (simple query protocol, several statements).
const STATS_SQL = `
SELECT current_setting('server_version') AS version,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS reserved,
       current_user AS usr;
SELECT pid, usename, application_name, state, wait_event_type, wait_event,
       EXTRACT(EPOCH FROM now() - xact_start)::float8 AS xact_s,
       EXTRACT(EPOCH FROM now() - query_start)::float8 AS query_s,
       EXTRACT(EPOCH FROM now() - state_change)::float8 AS state_s,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query,
       pg_blocking_pids(pid) AS blocked_by
  FROM pg_stat_activity
 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid();
SELECT blks_hit::float8 AS hit, blks_read::float8 AS read, xact_commit::float8 AS commits,
       xact_rollback::float8 AS rollbacks, deadlocks::float8 AS deadlocks
  FROM pg_stat_database WHERE datname = current_database();
SELECT relname AS tbl, n_live_tup::float8 AS live, n_dead_tup::float8 AS dead,
       to_char(last_autovacuum, 'YYYY-MM-DD"T"HH24:MI:SSOF') AS last_autovacuum
  FROM pg_stat_user_tables WHERE n_dead_tup > 0 ORDER BY n_dead_tup DESC LIMIT 10;
SELECT (to_regclass('execution_jobs') IS NOT NULL) AS has_jobs,
       EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS has_pss;
`;

/**
 * Unused indexes with their sizes: pg_relation_size takes a lock on each relation, so this runs on
 * its own under the session's lock_timeout (a table locked by a migration or an incident must not
 * turn diagnose itself into one more waiting session, or make PostgreSQL look down).
 */
const UNUSED_SQL = `
SELECT s.relname AS tbl, s.indexrelname AS idx, pg_relation_size(s.indexrelid)::float8 AS size,
       (t.seq_scan + coalesce(t.idx_scan, 0))::float8 AS table_scans,
       pg_relation_size(s.relid)::float8 AS table_size
  FROM pg_stat_user_indexes s
  JOIN pg_index i ON i.indexrelid = s.indexrelid
  JOIN pg_stat_user_tables t ON t.relid = s.relid
 WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
 ORDER BY pg_relation_size(s.indexrelid) DESC LIMIT 20`;

/** diagnose never waits behind another session's lock for longer than this. */
export const DIAGNOSE_LOCK_TIMEOUT_MS = 200;

const PSS_SQL = `
SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query, calls::float8 AS calls,
       mean_exec_time AS mean_ms, max_exec_time AS max_ms, total_exec_time AS total_ms
  FROM pg_stat_statements
 WHERE query NOT LIKE '%pg_stat_statements%' AND query <> '<insufficient privilege>' AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY mean_exec_time DESC LIMIT 5`;

/** Per-statement counters for the window's deltas (the statements with the most time first). */
const PSS_COUNTERS_SQL = `
SELECT queryid::text AS id, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query,
       calls::float8 AS calls, total_exec_time AS total_ms
  FROM pg_stat_statements
 WHERE query NOT LIKE '%pg_stat_statements%' AND query <> '<insufficient privilege>' AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY total_exec_time DESC LIMIT 200`;

const QUEUED_SQL = `
SELECT count(*)::float8 AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest_s
  FROM execution_jobs WHERE status = 'QUEUED'`;

type Row = Record<string, unknown>;

/**
 * Query texts are shown to the user: hide string literals after PASSWORD (CREATE/ALTER ROLE keeps
 * them verbatim in pg_stat_activity and pg_stat_statements, which do not normalise utility statements).
 */
export function redactSql(query: string): string {
  return query.replace(/(password\s+)(E?'(?:[^']|'')*'|\$\w*\$.*?\$\w*\$)/gi, "$1'****'");
}
const n = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const round1 = (v: number) => Math.round(v * 10) / 10;

/** Statements by mean time over the window: calls and time added between two samples. */
export function statementWindow(
  prev: PostgresSample,
  cur: PostgresSample,
): Array<{ query: string; calls: number; meanMs: number }> {
  const out: Array<{ query: string; calls: number; meanMs: number }> = [];
  for (const [id, c] of Object.entries(cur.statementCounters)) {
    const p = prev.statementCounters[id];
    // A statement absent before may be new or may just have entered the top 200: count it only
    // when pg_stat_statements was reset (every counter lower), else skip it this window.
    if (!p) continue;
    const calls = c.calls - p.calls;
    if (calls <= 0) continue;
    out.push({ query: c.query, calls, meanMs: round1((c.totalMs - p.totalMs) / calls) });
  }
  return out.sort((a, b) => b.meanMs - a.meanMs).slice(0, 5);
}

export interface PostgresCollectorOptions {
  databaseUrl: string;
  /** The configured pools the connections are measured against. */
  pool: { capacity: number; detail: string };
}

export class PostgresCollector implements Collector<PostgresSample, PostgresFacts> {
  readonly component = 'postgres' as const;
  readonly target: string;
  private client: pg.Client | undefined;

  constructor(private readonly options: PostgresCollectorOptions) {
    this.target = maskUrl(options.databaseUrl);
  }

  private async connected(timeoutMs: number): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: pgClientUrl(this.options.databaseUrl),
      connectionTimeoutMillis: timeoutMs,
      application_name: 'sentinel-ctl diagnose',
    });
    client.on('error', () => {
      // A dropped connection: forget it, the next sample reconnects.
      if (this.client === client) this.client = undefined;
    });
    try {
      await client.connect();
      await client.query(`SET lock_timeout = ${DIAGNOSE_LOCK_TIMEOUT_MS}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    this.client = client;
    return client;
  }

  async sample(timeoutMs: number): Promise<PostgresSample> {
    const work = (async () => {
      const client = await this.connected(timeoutMs);
      const results = (await client.query(STATS_SQL)) as unknown as Array<{ rows: Row[] }>;
      const [settings, activity, db, bloat, flags] = results.map((r) => r.rows);
      const locked: string[] = [];
      let unused: Row[] = [];
      try {
        unused = (await client.query(UNUSED_SQL)).rows as Row[];
      } catch (error) {
        locked.push(`index sizes (${(error as Error).message})`);
      }
      const s = settings![0]!;
      const f = flags![0]!;
      let statStatements: PostgresFacts['statStatements'];
      const statementCounters: PostgresSample['statementCounters'] = {};
      if (!f.has_pss) {
        statStatements = {
          available: false,
          reason: 'the pg_stat_statements extension is not installed in this database',
        };
      } else {
        try {
          // Both in one round trip (simple query protocol).
          const [r, counters] = (await client.query(`${PSS_SQL};\n${PSS_COUNTERS_SQL}`)) as unknown as Array<{
            rows: Row[];
          }>;
          for (const row of counters!.rows) {
            statementCounters[String(row.id)] = {
              query: redactSql(String(row.query)),
              calls: n(row.calls),
              totalMs: n(row.total_ms),
            };
          }
          statStatements = {
            available: true,
            window: null,
            top: r!.rows.map((q: Row) => ({
              query: redactSql(String(q.query)),
              calls: n(q.calls),
              meanMs: round1(n(q.mean_ms)),
              maxMs: round1(n(q.max_ms)),
              totalMs: round1(n(q.total_ms)),
            })),
          };
        } catch (error) {
          statStatements = { available: false, reason: (error as Error).message };
        }
      }
      let queuedJobs: PostgresFacts['queuedJobs'] = null;
      if (f.has_jobs) {
        try {
          const q = (await client.query(QUEUED_SQL)).rows[0] as Row;
          queuedJobs = { count: n(q.n), oldestSeconds: q.oldest_s === null ? null : round1(n(q.oldest_s)) };
        } catch (error) {
          queuedJobs = null;
          locked.push(`QUEUED jobs (${(error as Error).message})`);
        }
      }
      const d = db![0] ?? {};
      return {
        at: Date.now(),
        version: String(s.version).split(' ')[0]!,
        maxConnections: n(s.max_connections),
        superuserReserved: n(s.reserved),
        user: String(s.usr),
        sessions: activity!.map((a) => {
          const state = (a.state as string | null) ?? null;
          const idleInTx = state?.startsWith('idle in transaction') ?? false;
          return {
            pid: n(a.pid),
            user: (a.usename as string | null) ?? null,
            application: (a.application_name as string | null) || null,
            state,
            seconds: round1(n(idleInTx ? a.state_s : a.query_s)),
            xactSeconds: a.xact_s === null ? null : round1(n(a.xact_s)),
            waitEvent: a.wait_event_type ? `${a.wait_event_type}:${a.wait_event}` : null,
            query: redactSql(String(a.query ?? '')),
            blockedBy: (a.blocked_by as number[] | null) ?? [],
          };
        }),
        counters: {
          hit: n(d.hit),
          read: n(d.read),
          commits: n(d.commits),
          rollbacks: n(d.rollbacks),
          deadlocks: n(d.deadlocks),
        },
        statStatements,
        locked,
        unusedIndexes: unused.map((u) => ({
          table: String(u.tbl),
          index: String(u.idx),
          sizeBytes: n(u.size),
          tableScans: n(u.table_scans),
          tableBytes: n(u.table_size),
        })),
        bloat: bloat!.map((b) => {
          const live = n(b.live);
          const dead = n(b.dead);
          return {
            table: String(b.tbl),
            live,
            dead,
            deadRatio: live + dead > 0 ? dead / (live + dead) : 0,
            lastAutovacuum: (b.last_autovacuum as string | null) ?? null,
          };
        }),
        queuedJobs,
        statementCounters,
      } satisfies PostgresSample;
    })();
    return withTimeout(work, timeoutMs, () => this.drop());
  }

  derive(prev: PostgresSample | undefined, cur: PostgresSample): { facts: PostgresFacts; notes: string[] } {
    const notes: string[] = [];
    const window = windowOf(prev, cur);
    const byState: Record<string, number> = {};
    let appTotal = 0;
    let appInUse = 0;
    let apiTotal = 0;
    let apiInUse = 0;
    for (const s of cur.sessions) {
      if (s.application === API_APPLICATION_NAME) {
        apiTotal++;
        if (s.state && IN_USE_STATES.has(s.state)) apiInUse++;
      }
      const key = s.state ?? 'unknown';
      byState[key] = (byState[key] ?? 0) + 1;
      if (s.user === cur.user) {
        appTotal++;
        if (s.state && IN_USE_STATES.has(s.state)) appInUse++;
      }
    }
    const c = cur.counters;
    const p = prev?.counters;
    const hit = increase(p?.hit, c.hit);
    const read = increase(p?.read, c.read);
    const perSec = (a: number | undefined, b: number) =>
      window > 0 ? round1(increase(a, b) / window) : null;
    if (!prev) notes.push('one sample only: no rates');
    for (const l of cur.locked) notes.push(`not read, a lock is held: ${l}`);
    const strip = ({ xactSeconds: _x, ...s }: PgSession & { xactSeconds: number | null }): PgSession => s;
    return {
      notes,
      facts: {
        version: cur.version,
        maxConnections: cur.maxConnections,
        superuserReservedConnections: cur.superuserReserved,
        connections: {
          total: cur.sessions.length,
          byState,
          appUser: cur.user,
          appTotal,
          appInUse,
          api: apiTotal > 0 ? { application: API_APPLICATION_NAME, total: apiTotal, inUse: apiInUse } : null,
        },
        pool: this.options.pool,
        idleInTransaction: cur.sessions
          .filter((s) => s.state?.startsWith('idle in transaction'))
          .sort((a, b) => b.seconds - a.seconds)
          .slice(0, 20)
          .map(strip),
        // A session waiting on a lock is not a slow query: it is in `blocked`, with its blocker.
        longRunning: cur.sessions
          .filter(
            (s) =>
              s.state === 'active' &&
              s.seconds >= 1 &&
              !s.waitEvent?.startsWith('Lock:') &&
              !s.blockedBy?.length,
          )
          .sort((a, b) => b.seconds - a.seconds)
          .slice(0, 20)
          .map(strip),
        blocked: cur.sessions.filter((s) => (s.blockedBy?.length ?? 0) > 0).map(strip),
        cache: {
          hitRatio: prev && hit + read > 0 ? hit / (hit + read) : null,
          blocks: prev ? hit + read : 0,
          lifetimeHitRatio: c.hit + c.read > 0 ? c.hit / (c.hit + c.read) : null,
        },
        commitsPerSec: perSec(p?.commits, c.commits),
        rollbacksPerSec: perSec(p?.rollbacks, c.rollbacks),
        deadlocksInWindow: prev ? increase(p?.deadlocks, c.deadlocks) : null,
        statStatements: cur.statStatements.available
          ? { ...cur.statStatements, window: prev ? statementWindow(prev, cur) : null }
          : cur.statStatements,
        unusedIndexes: cur.unusedIndexes,
        bloat: cur.bloat,
        queuedJobs: cur.queuedJobs,
      },
    };
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => {});
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
