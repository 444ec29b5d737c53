import { describe, expect, test } from 'vitest';
import type { Profile } from '../../../src/config/schema.js';
import {
  asyncpgPool,
  type ConnectionBudget,
  type DatabaseHost,
  pgxEffectivePool,
  pgxPoolMaxConns,
  pgxPoolMinConns,
  pgxProfileTable,
  pgxRuleOfThumb,
  sqlalchemyPool,
  sqlalchemyPoolSizeForPods,
} from '../../../src/tuners/pg-pool.js';

describe('pgx profile table (sentinel-tuning-guide.md "PostgreSQL Connection Pool > Recommendations")', () => {
  const expected: Record<
    Profile,
    { replicas: number; pool: number; total: number; min: number; reason: string }
  > = {
    dev: {
      replicas: 1,
      pool: 10,
      total: 10,
      min: 3,
      reason: 'dev profile: 10 per replica (guide table: 1 × 10 = 10 total)',
    },
    staging: {
      replicas: 2,
      pool: 15,
      total: 30,
      min: 4,
      reason: 'staging profile: 15 per replica (guide table: 2 × 15 = 30 total)',
    },
    prod: {
      replicas: 3,
      pool: 20,
      total: 60,
      min: 5,
      reason: 'prod profile: 20 per replica (guide table: 3 × 20 = 60 total)',
    },
  };

  test.each(Object.entries(expected) as Array<[Profile, (typeof expected)[Profile]]>)(
    '%s',
    (profile, row) => {
      expect(pgxProfileTable[profile]).toEqual({ apiReplicas: row.replicas, poolMaxConns: row.pool });
      expect(pgxProfileTable[profile].apiReplicas * pgxProfileTable[profile].poolMaxConns).toBe(row.total);
      const rec = pgxPoolMaxConns({ profile });
      expect(rec.value).toBe(row.pool);
      expect(rec.reason).toBe(row.reason);
      expect(rec.basis).toBe('guide-default');
      expect(rec.warnings).toBeUndefined();
      expect(pgxPoolMinConns(rec.value).value).toBe(row.min);
    },
  );
});

describe('pgxRuleOfThumb', () => {
  test.each<[DatabaseHost, number, string, string, string[]]>([
    [
      { cpuMillicores: 4000, disk: 'ssd' },
      12,
      "3 × 4 cores = 12 (the guide's rule of thumb for SSD)",
      'guide-rule-of-thumb',
      [],
    ],
    [
      { cpuMillicores: 8000, disk: 'ssd' },
      24,
      "3 × 8 cores = 24 (the guide's rule of thumb for SSD)",
      'guide-rule-of-thumb',
      [],
    ],
    [
      { cpuMillicores: 1000, disk: 'ssd' },
      3,
      "3 × 1 core = 3 (the guide's rule of thumb for SSD)",
      'guide-rule-of-thumb',
      [],
    ],
    [
      { cpuMillicores: 1500, disk: 'ssd' },
      4,
      "floor(3 × 1.5 cores) = 4 (the guide's rule of thumb for SSD)",
      'guide-rule-of-thumb',
      [],
    ],
    [
      { cpuMillicores: 250, disk: 'ssd' },
      1,
      "floor(3 × 0.25 cores) = 1 (the guide's rule of thumb for SSD)",
      'guide-rule-of-thumb',
      [],
    ],
    [
      { cpuMillicores: 4000, disk: 'hdd', spindles: 2 },
      10,
      "(2 × 4 cores) + 2 spindles = 10 (the PostgreSQL community's starting point for HDD)",
      'community-heuristic',
      [],
    ],
    [
      { cpuMillicores: 8000, disk: 'hdd', spindles: 4 },
      20,
      "(2 × 8 cores) + 4 spindles = 20 (the PostgreSQL community's starting point for HDD)",
      'community-heuristic',
      [],
    ],
    [
      { cpuMillicores: 4000, disk: 'hdd' },
      9,
      "(2 × 4 cores) + 1 spindle = 9 (the PostgreSQL community's starting point for HDD)",
      'community-heuristic',
      ['pg-spindles-assumed'],
    ],
    [
      { cpuMillicores: 1500, disk: 'hdd', spindles: 1 },
      4,
      "(2 × 1.5 cores) + 1 spindle = 4 (the PostgreSQL community's starting point for HDD)",
      'community-heuristic',
      [],
    ],
    [
      { cpuMillicores: 1250, disk: 'hdd', spindles: 1 },
      3,
      "floor((2 × 1.25 cores) + 1 spindle) = 3 (the PostgreSQL community's starting point for HDD)",
      'community-heuristic',
      [],
    ],
  ])('%j → %i', (db, value, reason, basis, warnings) => {
    const rec = pgxRuleOfThumb(db);
    expect(rec.value).toBe(value);
    expect(rec.reason).toBe(reason);
    expect(rec.basis).toBe(basis);
    expect((rec.warnings ?? []).map((w) => w.code)).toEqual(warnings);
  });
});

describe('pgxPoolMaxConns with a connection budget', () => {
  const budget = (maxConnections: number, workerReplicas = 2, extra: Partial<ConnectionBudget> = {}) => ({
    maxConnections,
    workerReplicas,
    ...extra,
  });

  test.each<[string, Parameters<typeof pgxPoolMaxConns>[0], number, string[]]>([
    ['prod fits in 300', { profile: 'prod', budget: budget(300) }, 20, []],
    // 100 − 3 − 2×2 − 10 = 83 free; / 3 = 27 ≥ 20: fits.
    ['prod fits in PostgreSQL default 100', { profile: 'prod', budget: budget(100) }, 20, []],
    // 100 − 3 − 50×2 − 10 < 0 → 1 at least.
    ['50 workers leave nothing', { profile: 'prod', budget: budget(100, 50) }, 1, ['pgx-pool-clamped']],
    // 60 − 3 − 4 − 10 = 43; / 3 = 14.
    ['prod clamped in 60', { profile: 'prod', budget: budget(60) }, 14, ['pgx-pool-clamped']],
    // Exactly fits: 3 × 20 + 2 × 2 + 10 + 3 = 77.
    ['prod exactly at 77', { profile: 'prod', budget: budget(77) }, 20, []],
    ['prod one short at 76', { profile: 'prod', budget: budget(76) }, 19, ['pgx-pool-clamped']],
    // PostgreSQL 16 reserved_connections count too.
    [
      'reserved_connections',
      { profile: 'prod', budget: budget(77, 2, { reservedConnections: 3 }) },
      19,
      ['pgx-pool-clamped'],
    ],
    [
      'hardware heuristic, 5 replicas',
      { profile: 'prod', apiReplicas: 5, db: { cpuMillicores: 8000, disk: 'ssd' } },
      24,
      [],
    ],
    [
      'a huge database crosses the SARK per-pod maximum',
      { profile: 'prod', db: { cpuMillicores: 64_000, disk: 'ssd' } },
      192,
      ['pgx-pool-above-per-pod-max'],
    ],
  ])('%s → %i', (_name, input, value, warnings) => {
    const rec = pgxPoolMaxConns(input);
    expect(rec.value).toBe(value);
    expect((rec.warnings ?? []).map((w) => w.code)).toEqual(warnings);
  });

  test('the clamp shows its arithmetic', () => {
    expect(pgxPoolMaxConns({ profile: 'prod', budget: budget(60) }).reason).toBe(
      'prod profile: 20 per replica (guide table: 3 × 20 = 60 total); clamped to floor((60 max_connections − 3 reserved − 2 workers × 2 − 10) / 3 replicas) = 14',
    );
  });
});

describe('pgxPoolMinConns = ceil(max × 5 / 20)', () => {
  test.each<[number, number]>([
    [20, 5],
    [15, 4],
    [10, 3],
    [4, 1],
    [1, 1],
    [12, 3],
    [21, 6],
    [40, 10],
  ])('%i → %i', (max, min) => {
    expect(pgxPoolMinConns(max).value).toBe(min);
  });

  test('reason', () => {
    expect(pgxPoolMinConns(20).reason).toBe(
      "ceil(20 × 5 / 20) = 5 (the guide's connection string keeps 5 warm of 20)",
    );
  });
});

describe('pgxEffectivePool: the pgx default multiplies across replicas', () => {
  test.each<[number | undefined, number, number, number, string, boolean]>([
    [
      undefined,
      64,
      3,
      64,
      'pool_max_conns unset → pgx default max(4, NumCPU 64) = 64; 3 replicas × 64 = 192',
      true,
    ],
    [
      undefined,
      2,
      3,
      4,
      'pool_max_conns unset → pgx default max(4, NumCPU 2) = 4; 3 replicas × 4 = 12',
      true,
    ],
    [undefined, 4, 1, 4, 'pool_max_conns unset → pgx default max(4, NumCPU 4) = 4; 1 replicas × 4 = 4', true],
    [20, 64, 3, 20, 'pool_max_conns=20 is explicit; 3 replicas × 20 = 60', false],
  ])('pool %j, NumCPU %i, %i replicas → %i', (poolMaxConns, numCpu, apiReplicas, value, reason, warns) => {
    const rec = pgxEffectivePool({ poolMaxConns, numCpu, apiReplicas });
    expect(rec.value).toBe(value);
    expect(rec.reason).toBe(reason);
    expect(rec.warnings?.[0]?.code === 'pgx-default-pool').toBe(warns);
  });
});

describe('SQLAlchemy-style pools (sark-tuning-guide.md "Database Optimization > Connection Pooling")', () => {
  test.each<[number, number, string]>([
    [1, 20, 'small'],
    [3, 20, 'small'],
    [4, 15, 'medium'],
    [10, 15, 'medium'],
    [11, 10, 'large'],
    [50, 10, 'large'],
  ])('%i pods → pool_size %i (%s)', (pods, size, tier) => {
    expect(sqlalchemyPoolSizeForPods(pods)).toEqual({ size, tier });
  });

  test.each<[number, number | undefined, string[]]>([
    [3, undefined, []],
    // 3 × 20 = 60 < 97; with overflow 3 × 30 = 90 ≤ 97.
    [3, 100, []],
    // 4 × 15 = 60 < 97; 4 × 25 = 100 > 97.
    [4, 100, ['sqlalchemy-overflow-exceeds-max-connections']],
    // 10 × 15 = 150 ≥ 97.
    [10, 100, ['sqlalchemy-pool-exceeds-max-connections']],
    // The SARK guide's ALTER SYSTEM SET max_connections = 300: 10 × 25 = 250 ≤ 297.
    [10, 300, []],
    [14, 300, []],
    [20, 300, ['sqlalchemy-overflow-exceeds-max-connections']],
    [30, 300, ['sqlalchemy-pool-exceeds-max-connections']],
  ])('%i pods, max_connections %j warns %j', (pods, maxConnections, codes) => {
    const rec = sqlalchemyPool({ pods, maxConnections });
    expect(rec.value.maxOverflow).toBe(10);
    expect((rec.warnings ?? []).map((w) => w.code)).toEqual(codes);
  });

  test('reason', () => {
    expect(sqlalchemyPool({ pods: 4, maxConnections: 100 }).reason).toBe(
      'medium deployment (4 pods): pool_size 15 + max_overflow 10 per pod; 4 × 15 = 60, with overflow 4 × 25 = 100, against 100 − 3 = 97 usable',
    );
  });
});

describe('asyncpg max_size ≤ max_connections / replicas (jackdaw-benchmarking-guide.md)', () => {
  test.each<[number, number, number, number]>([
    // The guide's worked example: 100 connections, 2 replicas → 40.
    [100, 2, 40, 5],
    [100, 1, 80, 5],
    [300, 3, 80, 5],
    [100, 3, 26, 5],
    [20, 4, 4, 4],
    [5, 10, 1, 1],
  ])(
    'max_connections %i, %i replicas → max_size %i, min_size %i',
    (maxConnections, replicas, maxSize, minSize) => {
      expect(asyncpgPool({ maxConnections, replicas }).value).toEqual({ minSize, maxSize });
    },
  );

  test('reason', () => {
    expect(asyncpgPool({ maxConnections: 100, replicas: 2 }).reason).toBe(
      "max_size = floor(100 × 0.8 / 2) = 40 (≤ 100 / 2 = 50, 20 % kept for other clients as in the guide's example); min_size 5",
    );
  });
});
