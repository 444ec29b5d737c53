import { describe, expect, test } from 'vitest';
import { type MaxConnectionsInput, maxConnections, usableConnections } from '../../../src/tuners/postgres.js';

describe('max_connections', () => {
  test.each<[string, MaxConnectionsInput, number, string, string]>([
    [
      "the guide's prod row without KEDA: 3 API × 20 + 2 workers",
      { apiReplicas: 3, apiPoolMaxConns: 20, workerReplicas: 2 },
      77,
      '3 API × 20 + 2 workers × 2 + 10 = 74 + 3 superuser_reserved_connections = 77',
      'PostgreSQL Connection Pool > Recommendations',
    ],
    [
      '3 API × 20 + 50 workers, no KEDA bound',
      { apiReplicas: 3, apiPoolMaxConns: 20, workerReplicas: 50 },
      173,
      '3 API × 20 + 50 workers × 2 + 10 = 170 + 3 superuser_reserved_connections = 173',
      'PostgreSQL Connection Pool > Recommendations',
    ],
    [
      "the guide's worked example exactly: 3 API × 20 + 50 workers × 2 + 10 = 170",
      { apiReplicas: 3, apiPoolMaxConns: 20, workerReplicas: 50, superuserReservedConnections: 0 },
      170,
      '3 API × 20 + 50 workers × 2 + 10 = 170',
      'PostgreSQL Connection Pool > Recommendations',
    ],
    [
      'prod with KEDA 50 × 4: API pools and executions add up, 3 × 20 + 50 × 4 + 10 = 270',
      {
        apiReplicas: 3,
        apiPoolMaxConns: 20,
        workerReplicas: 50,
        keda: { maxReplicaCount: 50, workerPoolSize: 4 },
        superuserReservedConnections: 0,
      },
      270,
      '3 API × 20 + max(50 workers × 2, 50 max replicas × 4 pool) + 10 = 60 + 200 + 10 = 270 (API pools and executions are open at once; every execution at maxReplicaCount may hold a connection)',
      'KEDA Auto-Scaling > Calculating Max Workers',
    ],
    [
      'prod with KEDA and the default superuser_reserved_connections',
      {
        apiReplicas: 3,
        apiPoolMaxConns: 20,
        workerReplicas: 50,
        keda: { maxReplicaCount: 50, workerPoolSize: 4 },
      },
      273,
      '3 API × 20 + max(50 workers × 2, 50 max replicas × 4 pool) + 10 = 60 + 200 + 10 = 270 (API pools and executions are open at once; every execution at maxReplicaCount may hold a connection) + 3 superuser_reserved_connections = 273',
      'KEDA Auto-Scaling > Calculating Max Workers',
    ],
    [
      'KEDA peak replaces the current worker replica count',
      {
        apiReplicas: 3,
        apiPoolMaxConns: 20,
        workerReplicas: 2,
        keda: { maxReplicaCount: 50, workerPoolSize: 4 },
      },
      273,
      '3 API × 20 + max(50 workers × 2, 50 max replicas × 4 pool) + 10 = 60 + 200 + 10 = 270 (API pools and executions are open at once; every execution at maxReplicaCount may hold a connection) + 3 superuser_reserved_connections = 273',
      'KEDA Auto-Scaling > Calculating Max Workers',
    ],
    [
      'small KEDA: 1 API × 10 + 5 × 4 executions',
      {
        apiReplicas: 1,
        apiPoolMaxConns: 10,
        workerReplicas: 1,
        keda: { maxReplicaCount: 5, workerPoolSize: 4 },
      },
      43,
      '1 API × 10 + max(5 workers × 2, 5 max replicas × 4 pool) + 10 = 10 + 20 + 10 = 40 (API pools and executions are open at once; every execution at maxReplicaCount may hold a connection) + 3 superuser_reserved_connections = 43',
      'KEDA Auto-Scaling > Calculating Max Workers',
    ],
    [
      'KEDA with pool 2: both worker terms agree, the guide section stays',
      {
        apiReplicas: 1,
        apiPoolMaxConns: 10,
        workerReplicas: 1,
        keda: { maxReplicaCount: 5, workerPoolSize: 2 },
      },
      33,
      '1 API × 10 + max(5 workers × 2, 5 max replicas × 2 pool) + 10 = 10 + 10 + 10 = 30 (API pools and worker connections are open at once) + 3 superuser_reserved_connections = 33',
      'PostgreSQL Connection Pool > Recommendations',
    ],
    [
      'dev: 1 API × 10 + 1 worker',
      { apiReplicas: 1, apiPoolMaxConns: 10, workerReplicas: 1 },
      25,
      '1 API × 10 + 1 workers × 2 + 10 = 22 + 3 superuser_reserved_connections = 25',
      'PostgreSQL Connection Pool > Recommendations',
    ],
    [
      'no reserved connections',
      { apiReplicas: 2, apiPoolMaxConns: 15, workerReplicas: 2, superuserReservedConnections: 0 },
      44,
      '2 API × 15 + 2 workers × 2 + 10 = 44',
      'PostgreSQL Connection Pool > Recommendations',
    ],
    [
      'PostgreSQL 16 reserved_connections on top',
      { apiReplicas: 2, apiPoolMaxConns: 15, workerReplicas: 2, reservedConnections: 5 },
      52,
      '2 API × 15 + 2 workers × 2 + 10 = 44 + 3 superuser_reserved_connections + 5 reserved_connections = 52',
      'PostgreSQL Connection Pool > Recommendations',
    ],
    [
      'custom overhead and connections per worker',
      { apiReplicas: 2, apiPoolMaxConns: 15, workerReplicas: 4, workerConnsPerReplica: 4, overhead: 20 },
      69,
      '2 API × 15 + 4 workers × 4 + 20 = 66 + 3 superuser_reserved_connections = 69',
      'PostgreSQL Connection Pool > Recommendations',
    ],
  ])('%s → %i', (_name, input, value, reason, section) => {
    const rec = maxConnections(input);
    expect(rec.value).toBe(value);
    expect(rec.reason).toBe(reason);
    expect(rec.source.section).toBe(section);
  });

  test('with WORKER_POOL_SIZE 1 the 2 connections per replica win', () => {
    const rec = maxConnections({
      apiReplicas: 3,
      apiPoolMaxConns: 20,
      workerReplicas: 2,
      keda: { maxReplicaCount: 5, workerPoolSize: 1 },
    });
    expect(rec.value).toBe(83);
    expect(rec.reason).toBe(
      '3 API × 20 + max(5 workers × 2, 5 max replicas × 1 pool) + 10 = 60 + 10 + 10 = 80 (API pools and worker connections are open at once) + 3 superuser_reserved_connections = 83',
    );
    expect(rec.source.section).toBe('PostgreSQL Connection Pool > Recommendations');
  });

  test.each<[number, number | undefined, number | undefined, number]>([
    [100, undefined, undefined, 97],
    [100, 3, 0, 97],
    [300, 3, 5, 292],
    [10, 10, 0, 0],
  ])('usableConnections(%i, %j, %j) = %i', (max, su, rc, usable) => {
    expect(usableConnections(max, su, rc)).toBe(usable);
  });
});
