import { describe, expect, test } from 'vitest';
import {
  redisKeyCapacity,
  redisMaxmemory,
  redisMaxmemoryPolicy,
  redisPool,
} from '../../../src/tuners/redis.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('redisKeyCapacity: the guide\'s "Scaling estimate"', () => {
  test.each<[number, number | undefined, number, string]>([
    // "Each key ≈ 200 bytes → 128MB supports ~670K concurrent rate-limit windows".
    [128 * MiB, undefined, 671_088, '128mb / 200 B per key = 671088 keys'],
    [4 * GiB, undefined, 21_474_836, '4gb / 200 B per key = 21474836 keys'],
    [128 * MiB, 100, 1_342_177, '128mb / 100 B per key = 1342177 keys'],
  ])('%i bytes at %j B/key → %i', (maxmemory, bpk, keys, reason) => {
    const rec = redisKeyCapacity(maxmemory, bpk);
    expect(rec.value).toBe(keys);
    expect(rec.reason).toBe(reason);
  });
});

describe('redisMaxmemory = keys × bytes per key / 0.75, at least 128mb', () => {
  test.each<[number, number | undefined, number, string, string, string[]]>([
    [
      671_088,
      undefined,
      171 * MiB,
      "ceil(671088 keys × 200 B (the guide's estimate) / 0.75 target) = 171mb",
      'estimate',
      ['redis-bytes-per-key-estimated'],
    ],
    [
      1000,
      undefined,
      128 * MiB,
      "max(128mb guide default, ceil(1000 keys × 200 B (the guide's estimate) / 0.75 target) = 1mb) = 128mb",
      'estimate',
      ['redis-bytes-per-key-estimated'],
    ],
    [
      0,
      150,
      128 * MiB,
      'max(128mb guide default, ceil(0 keys × 150 B (measured) / 0.75 target) = 0) = 128mb',
      'measured',
      [],
    ],
    [
      1_000_000,
      96,
      128 * MiB,
      'max(128mb guide default, ceil(1000000 keys × 96 B (measured) / 0.75 target) = 123mb) = 128mb',
      'measured',
      [],
    ],
    [
      10_000_000,
      120.5,
      1533 * MiB,
      'ceil(10000000 keys × 120.5 B (measured) / 0.75 target) = 1533mb',
      'measured',
      [],
    ],
    // Boundary: exactly 128 MiB needed at the 75 % target.
    [503_316, 200, 128 * MiB, 'ceil(503316 keys × 200 B (measured) / 0.75 target) = 128mb', 'measured', []],
    [503_317, 200, 129 * MiB, 'ceil(503317 keys × 200 B (measured) / 0.75 target) = 129mb', 'measured', []],
    [
      30_000_000,
      100,
      3815 * MiB,
      'ceil(30000000 keys × 100 B (measured) / 0.75 target) = 3815mb',
      'measured',
      [],
    ],
    [
      30_000_000,
      143.2,
      5463 * MiB,
      'ceil(30000000 keys × 143.2 B (measured) / 0.75 target) = 5463mb',
      'measured',
      [],
    ],
  ])('%i keys at %j B → %i bytes', (keys, measuredBytesPerKey, value, reason, basis, codes) => {
    const rec = redisMaxmemory({ keys, measuredBytesPerKey });
    expect(rec.value).toBe(value);
    expect(rec.reason).toBe(reason);
    expect(rec.basis).toBe(basis);
    expect((rec.warnings ?? []).map((w) => w.code)).toEqual(codes);
  });
});

describe('maxmemory-policy', () => {
  test.each<[string | undefined, string[]]>([
    [undefined, ['redis-lru-evicts-locks']],
    ['allkeys-lru', ['redis-lru-evicts-locks']],
    ['noeviction', ['redis-lru-evicts-locks', 'redis-noeviction']],
    ['volatile-lru', ['redis-lru-evicts-locks']],
  ])('current %j', (current, codes) => {
    const rec = redisMaxmemoryPolicy(current);
    expect(rec.value).toBe('allkeys-lru');
    expect((rec.warnings ?? []).map((w) => w.code)).toEqual(codes);
  });
});

describe('Redis client pools (SARK / Jackdaw guides)', () => {
  test.each<[Parameters<typeof redisPool>[0], number, string, string, string[]]>([
    [{}, 50, '50 per replica, 10 idle', 'Redis Connection Pooling', []],
    [
      { requestsPerSecond: 500 },
      50,
      '50 per replica (500 req/s < 1000), 10 idle',
      'Redis Connection Pooling',
      [],
    ],
    [
      { requestsPerSecond: 999 },
      50,
      '50 per replica (999 req/s < 1000), 10 idle',
      'Redis Connection Pooling',
      [],
    ],
    [
      { requestsPerSecond: 1000 },
      100,
      '1000 req/s ≥ 1000: 100 per replica (high traffic), 10 idle',
      'Configuration > Performance Tuning > High Traffic (1000+ req/s)',
      [],
    ],
    [
      { replicas: 3 },
      50,
      '50 per replica, 10 idle; 3 replicas × 50 = 150 of maxclients 10000',
      'Redis Connection Pooling',
      [],
    ],
    [
      { replicas: 200 },
      50,
      '50 per replica, 10 idle; 200 replicas × 50 = 10000 of maxclients 10000',
      'Redis Connection Pooling',
      [],
    ],
    [
      { replicas: 201 },
      50,
      '50 per replica, 10 idle; 201 replicas × 50 = 10050 of maxclients 10000',
      'Redis Connection Pooling',
      ['redis-pools-exceed-maxclients'],
    ],
    [
      { replicas: 3, maxclients: 128, requestsPerSecond: 5000 },
      100,
      '5000 req/s ≥ 1000: 100 per replica (high traffic), 10 idle; 3 replicas × 100 = 300 of maxclients 128',
      'Configuration > Performance Tuning > High Traffic (1000+ req/s)',
      ['redis-pools-exceed-maxclients'],
    ],
  ])('%j → %i', (input, size, reason, section, codes) => {
    const rec = redisPool(input);
    expect(rec.value).toEqual({ maxConnections: size, minIdle: 10 });
    expect(rec.reason).toBe(reason);
    expect(rec.source.section).toBe(section);
    expect((rec.warnings ?? []).map((w) => w.code)).toEqual(codes);
  });
});
