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
  /** With KEDA, every execution at peak (maxReplicaCount × WORKER_POOL_SIZE) may hold a connection. */
  keda?: { maxReplicaCount: number; workerPoolSize: number };
  superuserReservedConnections?: number;
  /** PostgreSQL 16+ reserved_connections (pg_use_reserved_connections roles); default 0. */
  reservedConnections?: number;
}

/** The connections that can be open at once, term by term, and the sum written out. */
export interface ConnectionDemand {
  api: number;
  workers: number;
  overhead: number;
  total: number;
  /** Whether the KEDA term (every execution at maxReplicaCount) is the larger worker term. */
  kedaWins: boolean;
  /** The formula with the inputs filled in and the sum shown. */
  text: string;
}

/**
 * Connections open at the same time: every API replica's pool, plus the workers, plus overhead
 * (sentinel-tuning-guide.md "PostgreSQL Connection Pool > Recommendations"):
 *   api_replicas × pool_max_conns + worker_replicas × 2 + 10
 * With KEDA ("KEDA Auto-Scaling > Calculating Max Workers") up to maxReplicaCount × WORKER_POOL_SIZE
 * executions may each hold a connection *while* the API pools are open, so the worker term becomes
 *   max(worker_replicas × 2, maxReplicaCount × WORKER_POOL_SIZE)
 * and is added to the API pools, not compared with them. KEDA's peak replicas also count in the
 * first term (max of the Deployment's replicas and maxReplicaCount).
 */
export function connectionDemand(input: MaxConnectionsInput): ConnectionDemand {
  const perWorker = input.workerConnsPerReplica ?? WORKER_DB_CONNECTIONS_PER_REPLICA;
  const overhead = input.overhead ?? PG_CONNECTION_OVERHEAD;
  const api = input.apiReplicas * input.apiPoolMaxConns;
  const apiText = `${input.apiReplicas} API × ${input.apiPoolMaxConns}`;
  if (!input.keda) {
    const workers = input.workerReplicas * perWorker;
    const total = api + workers + overhead;
    return {
      api,
      workers,
      overhead,
      total,
      kedaWins: false,
      text: `${apiText} + ${input.workerReplicas} workers × ${perWorker} + ${overhead} = ${total}`,
    };
  }
  const replicas = Math.max(input.workerReplicas, input.keda.maxReplicaCount);
  const byReplicas = replicas * perWorker;
  const byExecutions = input.keda.maxReplicaCount * input.keda.workerPoolSize;
  const workers = Math.max(byReplicas, byExecutions);
  const total = api + workers + overhead;
  const kedaWins = byExecutions > byReplicas;
  const text =
    `${apiText} + max(${replicas} workers × ${perWorker}, ${input.keda.maxReplicaCount} max replicas × ${input.keda.workerPoolSize} pool) + ${overhead}` +
    ` = ${api} + ${workers} + ${overhead} = ${total}`;
  return { api, workers, overhead, total, kedaWins, text };
}

/**
 * max_connections: the connections open at once ({@link connectionDemand}), plus the
 * superuser_reserved_connections (and PostgreSQL 16's reserved_connections) that the application
 * roles cannot use. Without KEDA this is the guide's worked example: 3 API × 20 + 50 × 2 + 10 = 170.
 * With KEDA the executions add to the API pools: 3 × 20 + max(50 × 2, 50 × 4) + 10 = 270.
 */
export function maxConnections(input: MaxConnectionsInput): Recommendation<number> {
  const su = input.superuserReservedConnections ?? PG_DEFAULT_SUPERUSER_RESERVED;
  const rc = input.reservedConnections ?? 0;
  const demand = connectionDemand(input);
  let reason = demand.text;
  if (input.keda) {
    reason += demand.kedaWins
      ? ' (API pools and executions are open at once; every execution at maxReplicaCount may hold a connection)'
      : ' (API pools and worker connections are open at once)';
  }
  const value = demand.total + su + rc;
  if (su > 0 || rc > 0) {
    const parts = [`${su} superuser_reserved_connections`];
    if (rc > 0) parts.push(`${rc} reserved_connections`);
    reason += ` + ${parts.join(' + ')} = ${value}`;
  }
  return recommend(value, reason, demand.kedaWins ? sources.kedaMaxWorkers : sources.pgxRecommendations, {
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
