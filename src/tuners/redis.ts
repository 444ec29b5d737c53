/**
 * Redis: maxmemory from the keys it must hold, the eviction policy, and client pool sizes
 * (sentinel-tuning-guide.md "Redis", SARK guides, Jackdaw guide).
 */
import { MIB, num, type Recommendation, recommend, sources, type TunerWarning } from './types.js';
import { formatByteSize } from './units.js';

/** sentinel-tuning-guide.md "Redis": "Each key ≈ 200 bytes" — an estimate, to be replaced by a measurement. */
export const ESTIMATED_BYTES_PER_KEY = 200;
/** sentinel-tuning-guide.md "Redis": maxmemory default 128mb, "sufficient for most workloads". */
export const GUIDE_MAXMEMORY = 128 * MIB;
/** sark-tuning-guide.md "Performance Targets > Resource Targets": Redis memory target < 75 %. */
export const REDIS_MEMORY_TARGET = 0.75;

/**
 * How many keys a maxmemory holds at a given size per key: the guide's "Scaling estimate"
 * (128 MB / 200 B ≈ 670K rate-limit windows).
 */
export function redisKeyCapacity(
  maxmemoryBytes: number,
  bytesPerKey = ESTIMATED_BYTES_PER_KEY,
): Recommendation<number> {
  const value = Math.floor(maxmemoryBytes / bytesPerKey);
  return recommend(
    value,
    `${formatByteSize(maxmemoryBytes, 'redis')} / ${bytesPerKey} B per key = ${value} keys`,
    sources.redis,
    { basis: bytesPerKey === ESTIMATED_BYTES_PER_KEY ? 'estimate' : 'measured' },
  );
}

/**
 * maxmemory = keys × bytes per key / 0.75, so the expected peak sits at SARK's 75 % target; rounded
 * up to a whole MiB and never below the guide's 128mb. Bytes per key is measured (`MEMORY USAGE` on
 * a sample) when given, else the guide's ~200 B estimate, labelled as such.
 */
export function redisMaxmemory(input: {
  keys: number;
  measuredBytesPerKey?: number;
}): Recommendation<number> {
  const measured = input.measuredBytesPerKey;
  const bpk = measured ?? ESTIMATED_BYTES_PER_KEY;
  const needed = input.keys * bpk;
  const sized = Math.ceil(needed / REDIS_MEMORY_TARGET / MIB) * MIB;
  const value = Math.max(GUIDE_MAXMEMORY, sized);
  const bpkText = measured === undefined ? `${bpk} B (the guide's estimate)` : `${num(bpk)} B (measured)`;
  const formula = `ceil(${input.keys} keys × ${bpkText} / 0.75 target) = ${formatByteSize(sized, 'redis')}`;
  const reason =
    sized >= GUIDE_MAXMEMORY
      ? `${formula}`
      : `max(128mb guide default, ${formula}) = ${formatByteSize(value, 'redis')}`;
  const warnings: TunerWarning[] = [];
  if (measured === undefined) {
    warnings.push({
      code: 'redis-bytes-per-key-estimated',
      message:
        'Bytes per key is the guide’s ~200 B estimate; sample real keys with MEMORY USAGE (sentinel-ctl tune redis against the live stack) and size from that.',
      source: sources.redis,
    });
  }
  return recommend(value, reason, sources.ownRedisTarget, {
    basis: measured === undefined ? 'estimate' : 'measured',
    warnings,
  });
}

/**
 * maxmemory-policy allkeys-lru (sentinel-tuning-guide.md "Redis"; SARK "Cache Configuration").
 * Sentinel's idempotency locks live in the same keyspace, and under memory pressure allkeys-lru may
 * evict a live lock so a redelivered job runs twice: maxmemory must keep evictions at zero.
 */
export function redisMaxmemoryPolicy(current?: string): Recommendation<'allkeys-lru'> {
  const warnings: TunerWarning[] = [
    {
      code: 'redis-lru-evicts-locks',
      message:
        'allkeys-lru may evict live idempotency locks under memory pressure (a redelivered job would then run twice); keep evicted_keys at 0 by sizing maxmemory.',
      source: sources.redisUsage,
    },
  ];
  if (current === 'noeviction') {
    warnings.push({
      code: 'redis-noeviction',
      message:
        'maxmemory-policy noeviction makes writes fail once maxmemory is reached: rate limiting and locks would error.',
      source: sources.redis,
    });
  }
  return recommend(
    'allkeys-lru',
    'maxmemory-policy allkeys-lru (guide default: evict least recently used)',
    sources.redis,
    {
      basis: 'guide-default',
      warnings,
    },
  );
}

/** sark-optimization-guide.md "Redis Connection Pooling": 50 per pod, 10 kept idle. */
export const REDIS_POOL_SIZE = 50;
export const REDIS_POOL_MIN_IDLE = 10;
/** sark-optimization-guide.md "High Traffic (1000+ req/s)": VALKEY_POOL_SIZE=100. */
export const REDIS_POOL_SIZE_HIGH_TRAFFIC = 100;
/** Redis' default maxclients. */
export const REDIS_DEFAULT_MAXCLIENTS = 10_000;

/**
 * Redis client pool per replica: 50 (SARK "Redis Connection Pooling"; Jackdaw: "50 connections per
 * replica is generous for cache reads"), 100 at 1000+ req/s (SARK "High Traffic"), min idle 10.
 * Checked against Redis' maxclients across replicas.
 */
export function redisPool(input: {
  requestsPerSecond?: number;
  replicas?: number;
  maxclients?: number;
}): Recommendation<{ maxConnections: number; minIdle: number }> {
  const high = input.requestsPerSecond !== undefined && input.requestsPerSecond >= 1000;
  const size = high ? REDIS_POOL_SIZE_HIGH_TRAFFIC : REDIS_POOL_SIZE;
  const source = high ? sources.sarkOptHighTraffic : sources.sarkOptRedisPooling;
  let reason = high
    ? `${input.requestsPerSecond} req/s ≥ 1000: ${size} per replica (high traffic)`
    : `${size} per replica${input.requestsPerSecond === undefined ? '' : ` (${input.requestsPerSecond} req/s < 1000)`}`;
  reason += `, ${REDIS_POOL_MIN_IDLE} idle`;
  const warnings: TunerWarning[] = [];
  if (input.replicas !== undefined) {
    const maxclients = input.maxclients ?? REDIS_DEFAULT_MAXCLIENTS;
    const total = input.replicas * size;
    reason += `; ${input.replicas} replicas × ${size} = ${total} of maxclients ${maxclients}`;
    if (total > maxclients) {
      warnings.push({
        code: 'redis-pools-exceed-maxclients',
        message: `${input.replicas} replicas × ${size} = ${total} connections exceed Redis maxclients ${maxclients}.`,
        source,
      });
    }
  }
  return recommend({ maxConnections: size, minIdle: REDIS_POOL_MIN_IDLE }, reason, source, {
    basis: 'guide-default',
    warnings,
  });
}
