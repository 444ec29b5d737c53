/**
 * Database connection pools per API replica: pgx (the Sentinel API), and the SQLAlchemy and asyncpg
 * pools of the SARK and Jackdaw guides, for stacks that put a Python service beside it.
 */
import type { Profile } from '../config/schema.js';
import type { DiskKind } from './facts.js';
import {
  cores,
  coresText,
  num,
  type Recommendation,
  recommend,
  sources,
  type TunerWarning,
} from './types.js';

/** sentinel-tuning-guide.md "PostgreSQL Connection Pool > Recommendations": replicas and pool per profile. */
export const pgxProfileTable: Record<Profile, { apiReplicas: number; poolMaxConns: number }> = {
  dev: { apiReplicas: 1, poolMaxConns: 10 },
  staging: { apiReplicas: 2, poolMaxConns: 15 },
  prod: { apiReplicas: 3, poolMaxConns: 20 },
};

/** pgxpool's own default when pool_max_conns is absent: max(4, runtime.NumCPU()). */
export const PGX_DEFAULT_MIN_MAX_CONNS = 4;

/** SARK tuning guide "Performance Targets > Throughput Targets": database connections per pod. */
export const SARK_CONNECTIONS_PER_POD_TARGET = 50;
export const SARK_CONNECTIONS_PER_POD_MAX = 100;

export interface DatabaseHost {
  /** CPU of the PostgreSQL server (the formula sizes for how many queries it can run at once). */
  cpuMillicores: number;
  disk: DiskKind;
  /** Effective spindle count for HDD storage; default 1. */
  spindles?: number;
}

/**
 * pool_max_conns from the database's hardware (sentinel-tuning-guide.md "PostgreSQL Connection Pool
 * > Recommendations"): on SSD `CPU_CORES × 3` (the guide's rule of thumb); on HDD
 * `(2 × CPU_CORES) + effective_spindle_count` (the PostgreSQL community's starting point).
 * Both are heuristics, labelled as such; rounded down, at least 1.
 */
export function pgxRuleOfThumb(db: DatabaseHost): Recommendation<number> {
  const c = cores(db.cpuMillicores);
  if (db.disk === 'ssd') {
    const value = Math.max(1, Math.floor(3 * c));
    const formula = Number.isInteger(3 * c) ? `3 × ${coresText(c)}` : `floor(3 × ${coresText(c)})`;
    return recommend(
      value,
      `${formula} = ${value} (the guide's rule of thumb for SSD)`,
      sources.pgxRecommendations,
      {
        basis: 'guide-rule-of-thumb',
      },
    );
  }
  const spindles = db.spindles ?? 1;
  const raw = 2 * c + spindles;
  const value = Math.max(1, Math.floor(raw));
  const warnings: TunerWarning[] = [];
  if (db.spindles === undefined) {
    warnings.push({
      code: 'pg-spindles-assumed',
      message: 'No spindle count given for the HDD storage; assumed 1 (pass the effective spindle count).',
      source: sources.pgxRecommendations,
    });
  }
  const formula = `(2 × ${coresText(c)}) + ${spindles} ${spindles === 1 ? 'spindle' : 'spindles'}`;
  return recommend(
    value,
    `${Number.isInteger(raw) ? formula : `floor(${formula})`} = ${value} (the PostgreSQL community's starting point for HDD)`,
    sources.pgxRecommendations,
    { basis: 'community-heuristic', warnings },
  );
}

/** The connection budget a pool must fit in (see postgres.ts for the same terms). */
export interface ConnectionBudget {
  maxConnections: number;
  superuserReservedConnections?: number;
  reservedConnections?: number;
  workerReplicas: number;
  /** Connections each worker replica holds; the guide counts 2. */
  workerConnsPerReplica?: number;
  /** Replication and monitoring; the guide's + 10. */
  overhead?: number;
}

export interface PgxPoolInput {
  profile: Profile;
  /** API replicas; default the profile's (1 / 2 / 3). */
  apiReplicas?: number;
  /** When the database's hardware is known, size from it instead of the profile table. */
  db?: DatabaseHost;
  /** When max_connections is known, the pool is clamped so that every replica's pool fits in it. */
  budget?: ConnectionBudget;
}

/**
 * pgx `pool_max_conns` per API replica. Always written explicitly: pgx's default max(4, NumCPU)
 * multiplies by the replica count. From the profile table, or the hardware heuristic when the
 * database's cores and disk are known, then clamped to the max_connections budget when one is given.
 */
export function pgxPoolMaxConns(input: PgxPoolInput): Recommendation<number> {
  const row = pgxProfileTable[input.profile];
  const replicas = input.apiReplicas ?? row.apiReplicas;
  const base = input.db
    ? pgxRuleOfThumb(input.db)
    : recommend(
        row.poolMaxConns,
        `${input.profile} profile: ${row.poolMaxConns} per replica (guide table: ${row.apiReplicas} × ${row.poolMaxConns} = ${row.apiReplicas * row.poolMaxConns} total)`,
        sources.pgxRecommendations,
        { basis: 'guide-default' },
      );
  const warnings: TunerWarning[] = [...(base.warnings ?? [])];
  let value = base.value;
  let reason = base.reason;

  if (input.budget) {
    const b = input.budget;
    const su = b.superuserReservedConnections ?? 3;
    const rc = b.reservedConnections ?? 0;
    const perWorker = b.workerConnsPerReplica ?? 2;
    const overhead = b.overhead ?? 10;
    const free = b.maxConnections - su - rc - b.workerReplicas * perWorker - overhead;
    const fit = Math.floor(free / replicas);
    if (fit < value) {
      const reserved = rc > 0 ? `${su} − ${rc}` : `${su}`;
      reason += `; clamped to floor((${b.maxConnections} max_connections − ${reserved} reserved − ${b.workerReplicas} workers × ${perWorker} − ${overhead}) / ${replicas} replicas) = ${fit}`;
      value = fit;
      warnings.push({
        code: 'pgx-pool-clamped',
        message:
          `max_connections ${b.maxConnections} leaves room for ${fit} per API replica, below the ${base.value} recommended; ` +
          'raise max_connections (see the max_connections recommendation) rather than starve the API.',
        source: sources.pgxRecommendations,
      });
    }
    if (value < 1) {
      value = 1;
      reason += ', at least 1';
    }
  }
  if (value > SARK_CONNECTIONS_PER_POD_MAX) {
    warnings.push({
      code: 'pgx-pool-above-per-pod-max',
      message: `${value} connections per replica is above the ${SARK_CONNECTIONS_PER_POD_MAX} per pod that the SARK targets treat as the maximum; add replicas or a pooler instead.`,
      source: sources.sarkThroughputTargets,
    });
  }
  return recommend(value, reason, base.source, { basis: base.basis, warnings });
}

/**
 * pgx `pool_min_conns`: warm connections kept open. Both guides keep 5 warm out of 20
 * (sentinel-tuning-guide.md connection string `pool_max_conns=20&pool_min_conns=5`; Jackdaw asyncpg
 * `min_size=5, max_size=20`), so a quarter of the maximum, rounded up.
 */
export function pgxPoolMinConns(poolMaxConns: number): Recommendation<number> {
  const value = Math.max(1, Math.ceil((poolMaxConns * 5) / 20));
  return recommend(
    value,
    `ceil(${poolMaxConns} × 5 / 20) = ${value} (the guide's connection string keeps 5 warm of 20)`,
    sources.pgxConnString,
    { basis: 'guide-formula' },
  );
}

/**
 * What pgx really opens per replica, and across replicas, when DATABASE_URL has no pool_max_conns:
 * max(4, NumCPU), where NumCPU is the CPUs the Go runtime sees — the node's, not the pod's limit,
 * unless the container is pinned to a cpuset. On a 64-core node that is 64 per replica.
 */
export function pgxEffectivePool(input: {
  poolMaxConns?: number;
  numCpu: number;
  apiReplicas: number;
}): Recommendation<number> {
  if (input.poolMaxConns !== undefined) {
    return recommend(
      input.poolMaxConns,
      `pool_max_conns=${input.poolMaxConns} is explicit; ${input.apiReplicas} replicas × ${input.poolMaxConns} = ${input.apiReplicas * input.poolMaxConns}`,
      sources.pgxConnString,
      { basis: 'measured' },
    );
  }
  const value = Math.max(PGX_DEFAULT_MIN_MAX_CONNS, input.numCpu);
  const total = value * input.apiReplicas;
  return recommend(
    value,
    `pool_max_conns unset → pgx default max(4, NumCPU ${input.numCpu}) = ${value}; ${input.apiReplicas} replicas × ${value} = ${total}`,
    sources.pgxDefaults,
    {
      basis: 'guide-default',
      warnings: [
        {
          code: 'pgx-default-pool',
          message:
            `DATABASE_URL sets no pool_max_conns, so each API replica opens up to max(4, NumCPU) = ${value} ` +
            `(NumCPU is the node's CPU count, not the pod's limit): ${total} across ${input.apiReplicas} replicas. ` +
            'Write pool_max_conns explicitly.',
          source: sources.pgxDefaults,
        },
      ],
    },
  );
}

/** SARK tuning guide "Database Optimization > Connection Pooling": pool size per pod by deployment size. */
export function sqlalchemyPoolSizeForPods(pods: number): {
  size: number;
  tier: 'small' | 'medium' | 'large';
} {
  // "Small (1-3 pods): 20; Medium (4-10 pods): 15; Large (10+ pods): 10". The tiers overlap at 10;
  // 10 pods is read as medium (the range "4-10" includes it), large starts at 11.
  if (pods <= 3) return { size: 20, tier: 'small' };
  if (pods <= 10) return { size: 15, tier: 'medium' };
  return { size: 10, tier: 'large' };
}

/** SARK DATABASE_MAX_OVERFLOW / postgres_max_overflow: 10 extra connections under load. */
export const SQLALCHEMY_MAX_OVERFLOW = 10;

/**
 * A SQLAlchemy-style pool (pool_size + max_overflow) per pod for a SARK-like Python service,
 * checked against the database: the SARK guide asks `pods × pool_size < max_connections`; under load
 * the overflow connections open too, so `pods × (pool_size + max_overflow)` is checked as well.
 */
export function sqlalchemyPool(input: {
  pods: number;
  maxConnections?: number;
  superuserReservedConnections?: number;
}): Recommendation<{ poolSize: number; maxOverflow: number }> {
  const { size, tier } = sqlalchemyPoolSizeForPods(input.pods);
  const overflow = SQLALCHEMY_MAX_OVERFLOW;
  const warnings: TunerWarning[] = [];
  let reason = `${tier} deployment (${input.pods} pods): pool_size ${size} + max_overflow ${overflow} per pod`;
  if (input.maxConnections !== undefined) {
    const su = input.superuserReservedConnections ?? 3;
    const usable = input.maxConnections - su;
    const steady = input.pods * size;
    const peak = input.pods * (size + overflow);
    reason += `; ${input.pods} × ${size} = ${steady}, with overflow ${input.pods} × ${size + overflow} = ${peak}, against ${input.maxConnections} − ${su} = ${usable} usable`;
    if (steady >= usable) {
      warnings.push({
        code: 'sqlalchemy-pool-exceeds-max-connections',
        message: `${input.pods} pods × pool_size ${size} = ${steady} is not below the ${usable} usable connections (max_connections ${input.maxConnections} − ${su} reserved).`,
        source: sources.sarkDbPooling,
      });
    } else if (peak > usable) {
      warnings.push({
        code: 'sqlalchemy-overflow-exceeds-max-connections',
        message: `With overflow, ${input.pods} pods × ${size + overflow} = ${peak} exceeds the ${usable} usable connections; overflow requests will fail with "too many clients".`,
        source: sources.sarkDbPooling,
      });
    }
  }
  return recommend({ poolSize: size, maxOverflow: overflow }, reason, sources.sarkDbPooling, {
    basis: 'guide-default',
    warnings,
  });
}

/** Jackdaw asyncpg: min_size 5 warm connections. */
export const ASYNCPG_MIN_SIZE = 5;
/** Headroom the Jackdaw guide's worked example leaves (100 connections, 2 replicas → 40, not 50). */
export const ASYNCPG_HEADROOM = 0.2;

/**
 * asyncpg `max_size` per replica (jackdaw-benchmarking-guide.md "6. Connection Pool Tuning >
 * asyncpg"): `max_size ≤ max_connections / replicas`; the guide's example sets 40 for 100 connections
 * and 2 replicas, keeping 20 % for other clients, so `floor(max_connections × 0.8 / replicas)`.
 */
export function asyncpgPool(input: {
  maxConnections: number;
  replicas: number;
}): Recommendation<{ minSize: number; maxSize: number }> {
  const bound = input.maxConnections / input.replicas;
  const maxSize = Math.max(1, Math.floor((input.maxConnections * (1 - ASYNCPG_HEADROOM)) / input.replicas));
  const minSize = Math.min(ASYNCPG_MIN_SIZE, maxSize);
  const warnings: TunerWarning[] = [];
  if (input.replicas * maxSize > input.maxConnections) {
    // Even one connection per replica is more than the server takes: no max_size fits.
    warnings.push({
      code: 'asyncpg-pool-exceeds-max-connections',
      message: `${input.replicas} replicas × max_size ${maxSize} = ${input.replicas * maxSize} connections exceed max_connections ${input.maxConnections}: no pool size fits; raise max_connections to ≥ ${Math.ceil((input.replicas * maxSize) / (1 - ASYNCPG_HEADROOM))}, run fewer replicas, or put a pooler (PgBouncer) in front.`,
      source: sources.jackdawAsyncpg,
    });
  } else if (maxSize < 2) {
    warnings.push({
      code: 'asyncpg-pool-tiny',
      message: `max_size ${maxSize} per replica leaves no room for concurrent queries; raise max_connections or run fewer replicas.`,
      source: sources.jackdawAsyncpg,
    });
  }
  return recommend(
    { minSize, maxSize },
    `max_size = ${maxSize > Math.floor((input.maxConnections * (1 - ASYNCPG_HEADROOM)) / input.replicas) ? 'max(1, ' : ''}floor(${input.maxConnections} × 0.8 / ${input.replicas})${maxSize > Math.floor((input.maxConnections * (1 - ASYNCPG_HEADROOM)) / input.replicas) ? ')' : ''} = ${maxSize} (≤ ${input.maxConnections} / ${input.replicas} = ${num(bound)}, 20 % kept for other clients as in the guide's example); min_size ${minSize}`,
    sources.jackdawAsyncpg,
    { basis: 'guide-formula', warnings },
  );
}
