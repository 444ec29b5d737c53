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
      '3 API × 20 + 50 workers with KEDA 50 × 4: the KEDA bound wins',
      {
        apiReplicas: 3,
        apiPoolMaxConns: 20,
        workerReplicas: 50,
        keda: { maxReplicaCount: 50, workerPoolSize: 4 },
      },
      213,
      'max(3 API × 20 + 50 workers × 2 + 10 = 170, 50 max replicas × 4 pool + 10 = 210) = 210 (the KEDA bound wins: every execution at maxReplicaCount may hold a connection) + 3 superuser_reserved_connections = 213',
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
      213,
      'max(3 API × 20 + 50 workers × 2 + 10 = 170, 50 max replicas × 4 pool + 10 = 210) = 210 (the KEDA bound wins: every execution at maxReplicaCount may hold a connection) + 3 superuser_reserved_connections = 213',
      'KEDA Auto-Scaling > Calculating Max Workers',
    ],
    [
      'both bounds agree',
      {
        apiReplicas: 1,
        apiPoolMaxConns: 10,
        workerReplicas: 1,
        keda: { maxReplicaCount: 5, workerPoolSize: 4 },
      },
      33,
      'max(1 API × 10 + 5 workers × 2 + 10 = 30, 5 max replicas × 4 pool + 10 = 30) = 30 (both bounds agree) + 3 superuser_reserved_connections = 33',
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

  test('the pools bound winning is explained', () => {
    const rec = maxConnections({
      apiReplicas: 3,
      apiPoolMaxConns: 20,
      workerReplicas: 2,
      keda: { maxReplicaCount: 5, workerPoolSize: 4 },
    });
    expect(rec.value).toBe(83);
    expect(rec.reason).toBe(
      'max(3 API × 20 + 5 workers × 2 + 10 = 80, 5 max replicas × 4 pool + 10 = 30) = 80 (the pools bound wins) + 3 superuser_reserved_connections = 83',
    );
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
