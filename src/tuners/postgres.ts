/**
 * PostgreSQL max_connections from the pools that connect to it.
 */
import { type Recommendation, recommend, sources } from './types.js';

/** PostgreSQL's default superuser_reserved_connections. */
export const PG_DEFAULT_SUPERUSER_RESERVED = 3;
/** sentinel-tuning-guide.md: `+ 10  # overhead for replication, monitoring`. */
export const PG_CONNECTION_OVERHEAD = 10;
/** sentinel-tuning-guide.md: `(Worker_replicas × 2)`. */
export const WORKER_DB_CONNECTIONS_PER_REPLICA = 2;

export interface MaxConnectionsInput {
  apiReplicas: number;
  apiPoolMaxConns: number;
  workerReplicas: number;
  workerConnsPerReplica?: number;
  overhead?: number;
  /** With KEDA, the worker side is bounded by every possible execution: maxReplicaCount × WORKER_POOL_SIZE. */
  keda?: { maxReplicaCount: number; workerPoolSize: number };
  superuserReservedConnections?: number;
  /** PostgreSQL 16+ reserved_connections (pg_use_reserved_connections roles); default 0. */
  reservedConnections?: number;
}

/**
 * max_connections (sentinel-tuning-guide.md "PostgreSQL Connection Pool > Recommendations"):
 *   pools  = api_replicas × pool_max_conns + worker_replicas × 2 + 10
 * and with KEDA ("KEDA Auto-Scaling > Calculating Max Workers": max_connections ≥ max_workers + overhead)
 *   keda   = maxReplicaCount × WORKER_POOL_SIZE + 10
 * The larger bound wins. The application roles cannot use the superuser_reserved_connections (nor
 * PostgreSQL 16's reserved_connections), so those are added on top.
 * With KEDA the worker term counts maxReplicaCount replicas: the pools bound must hold at peak too.
 */
export function maxConnections(input: MaxConnectionsInput): Recommendation<number> {
  const perWorker = input.workerConnsPerReplica ?? WORKER_DB_CONNECTIONS_PER_REPLICA;
  const overhead = input.overhead ?? PG_CONNECTION_OVERHEAD;
  const su = input.superuserReservedConnections ?? PG_DEFAULT_SUPERUSER_RESERVED;
  const rc = input.reservedConnections ?? 0;
  const workers = input.keda
    ? Math.max(input.workerReplicas, input.keda.maxReplicaCount)
    : input.workerReplicas;

  const pools = input.apiReplicas * input.apiPoolMaxConns + workers * perWorker + overhead;
  const poolsText = `${input.apiReplicas} API × ${input.apiPoolMaxConns} + ${workers} workers × ${perWorker} + ${overhead} = ${pools}`;
  let required = pools;
  let reason: string;
  let kedaWins = false;
  if (input.keda) {
    const maxWorkers = input.keda.maxReplicaCount * input.keda.workerPoolSize;
    const keda = maxWorkers + overhead;
    const kedaText = `${input.keda.maxReplicaCount} max replicas × ${input.keda.workerPoolSize} pool + ${overhead} = ${keda}`;
    required = Math.max(pools, keda);
    kedaWins = keda > pools;
    const winner =
      keda > pools
        ? 'the KEDA bound wins: every execution at maxReplicaCount may hold a connection'
        : keda < pools
          ? 'the pools bound wins'
          : 'both bounds agree';
    reason = `max(${poolsText}, ${kedaText}) = ${required} (${winner})`;
  } else {
    reason = poolsText;
  }
  const value = required + su + rc;
  if (su > 0 || rc > 0) {
    const parts = [`${su} superuser_reserved_connections`];
    if (rc > 0) parts.push(`${rc} reserved_connections`);
    reason += ` + ${parts.join(' + ')} = ${value}`;
  }
  return recommend(value, reason, kedaWins ? sources.kedaMaxWorkers : sources.pgxRecommendations, {
    basis: 'guide-formula',
  });
}

/** Connections the application roles can open: max_connections minus the reserved slots. */
export function usableConnections(
  maxConnectionsValue: number,
  superuserReserved = PG_DEFAULT_SUPERUSER_RESERVED,
  reserved = 0,
): number {
  return maxConnectionsValue - superuserReserved - reserved;
}
