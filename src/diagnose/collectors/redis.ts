/**
 * Redis: INFO (memory against maxmemory, fragmentation, clients, evictions, hit rate, ops/s, error
 * replies) and a few PING round trips as latency samples. The fields are the ones the SARK guides'
 * troubleshooting reads with `redis-cli INFO` (sark-optimization-guide.md "Troubleshooting").
 */
import { Redis } from 'ioredis';
import { maskUrl } from '../../lib/redact.js';
import type { RedisFacts } from '../types.js';
import { withTimeout } from './timeout.js';
import { type Collector, increase, windowOf } from './types.js';

export interface RedisSample {
  at: number;
  info: Record<string, string>;
  latencies: number[];
}

/** `INFO` text → key/value pairs (section headers and blank lines dropped). */
export function parseRedisInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** Keys over all databases, from the `db0:keys=12,expires=3,avg_ttl=0` lines. */
function keyCount(info: Record<string, string>): number {
  let total = 0;
  for (const [k, v] of Object.entries(info)) {
    if (/^db\d+$/.test(k)) total += Number(/keys=(\d+)/.exec(v)?.[1] ?? 0);
  }
  return total;
}

/** `errorstat_OOM:count=3` → { OOM: 3 }. */
function errorStats(info: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(info)) {
    if (k.startsWith('errorstat_'))
      out[k.slice('errorstat_'.length)] = Number(/count=(\d+)/.exec(v)?.[1] ?? 0);
  }
  return out;
}

/** Error replies by kind added between two INFO readings (kinds that did not grow are left out). */
export function errorStatsDelta(
  prev: Record<string, number>,
  cur: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(cur)) {
    const d = increase(prev[k], v);
    if (d > 0) out[k] = d;
  }
  return out;
}

const PINGS = 5;

export class RedisCollector implements Collector<RedisSample, RedisFacts> {
  readonly component = 'redis' as const;
  readonly target: string;
  private client: Redis | undefined;
  /** ioredis reports a refused connection as "Connection is closed."; the socket error comes as an event. */
  private lastError: Error | undefined;

  constructor(private readonly url: string) {
    this.target = maskUrl(url);
  }

  private connect(timeoutMs: number): Redis {
    if (this.client) return this.client;
    const client = new Redis(this.url, {
      connectTimeout: timeoutMs,
      // A hung server never closes its end: don't wait ioredis' default 2 s for it after disconnect.
      disconnectTimeout: 100,
      // No commandTimeout: withTimeout bounds the whole sample, and ioredis' per-command timers
      // outlive a dropped connection and would hold the process open after the report.
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: true,
      lazyConnect: true,
      connectionName: 'sentinel-ctl-diagnose',
      // ioredis ≥ 5.4 sends CLIENT SETINFO on connect; Redis < 7.2 answers it with an error, so
      // every diagnose run would add two errors to the very counter the Redis rules read.
      disableClientInfo: true,
    });
    client.on('error', (e: Error) => {
      this.lastError = e;
    });
    client.on('end', () => {
      if (this.client === client) this.client = undefined;
    });
    this.client = client;
    return client;
  }

  async sample(timeoutMs: number): Promise<RedisSample> {
    const work = (async () => {
      const client = this.connect(timeoutMs);
      this.lastError = undefined;
      if (client.status === 'wait') {
        await client.connect().catch((e: Error) => {
          throw this.lastError ?? e;
        });
      }
      const latencies: number[] = [];
      for (let i = 0; i < PINGS; i++) {
        const t0 = performance.now();
        await client.ping();
        latencies.push(performance.now() - t0);
      }
      const info = parseRedisInfo(await client.info('everything'));
      return { at: Date.now(), info, latencies };
    })();
    return withTimeout(work, timeoutMs, () => this.drop());
  }

  derive(prev: RedisSample | undefined, cur: RedisSample): { facts: RedisFacts; notes: string[] } {
    const i = cur.info;
    const p = prev?.info;
    const num = (info: Record<string, string> | undefined, k: string): number | undefined =>
      info?.[k] === undefined ? undefined : Number(info[k]);
    const window = windowOf(prev, cur);
    const delta = (k: string): number | null => {
      if (!prev) return null;
      const a = num(p, k);
      const b = num(i, k);
      return b === undefined ? null : increase(a, b);
    };
    const hits = delta('keyspace_hits');
    const misses = delta('keyspace_misses');
    const lifeHits = num(i, 'keyspace_hits') ?? 0;
    const lifeMisses = num(i, 'keyspace_misses') ?? 0;
    const commands = delta('total_commands_processed');
    const lat = cur.latencies;
    const r2 = (v: number) => Math.round(v * 100) / 100;
    return {
      notes: prev ? [] : ['one sample only: no rates'],
      facts: {
        version: i.redis_version ?? 'unknown',
        usedMemory: num(i, 'used_memory') ?? 0,
        maxmemory: num(i, 'maxmemory') ?? 0,
        maxmemoryPolicy: i.maxmemory_policy ?? 'unknown',
        fragmentationRatio: num(i, 'mem_fragmentation_ratio') ?? null,
        connectedClients: num(i, 'connected_clients') ?? 0,
        blockedClients: num(i, 'blocked_clients') ?? 0,
        rejectedConnections: num(i, 'rejected_connections') ?? 0,
        rejectedInWindow: delta('rejected_connections'),
        evictedKeys: num(i, 'evicted_keys') ?? 0,
        evictedInWindow: delta('evicted_keys'),
        errorRepliesInWindow: delta('total_error_replies'),
        errorStats: errorStats(i),
        errorStatsInWindow: prev ? errorStatsDelta(errorStats(prev.info), errorStats(i)) : null,
        hitsInWindow: hits,
        missesInWindow: misses,
        hitRate: hits !== null && misses !== null && hits + misses > 0 ? hits / (hits + misses) : null,
        lifetimeHitRate: lifeHits + lifeMisses > 0 ? lifeHits / (lifeHits + lifeMisses) : null,
        // The INFO command and our PINGs are in the count; subtract them so an idle server reads 0.
        opsPerSec: commands !== null && window > 0 ? r2(Math.max(0, commands - PINGS - 1) / window) : null,
        keys: keyCount(i),
        latencyMs: {
          min: r2(Math.min(...lat)),
          avg: r2(lat.reduce((a, b) => a + b, 0) / lat.length),
          max: r2(Math.max(...lat)),
          samples: lat.length,
        },
      },
    };
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    client?.disconnect();
  }

  async close(): Promise<void> {
    this.drop();
  }
}
