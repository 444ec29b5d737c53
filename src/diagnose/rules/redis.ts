/**
 * Redis rules: the symptom row "Redis errors → eviction under load → increase maxmemory", memory
 * against maxmemory (SARK 75 / 90 / 95 %), hit rate under 80 % (SARK "Cache Performance Tuning",
 * Jackdaw "Redis hit rate"), rejected connections and error replies (SARK "Redis Connection Errors").
 */
import { classifyRedisMemory } from '../../tuners/resource-targets.js';
import { diagnoseSources as src } from '../sources.js';
import type { Facts, Finding } from '../types.js';
import { bandSeverity } from './common.js';
import { bytes, count, pct } from './format.js';

/** SARK "Cache Performance Tuning": target > 80 % hit rate. */
export const HIT_RATE_TARGET = 0.8;
/** Fewer lookups than this in the window say nothing about a hit rate. */
export const MIN_LOOKUPS = 100;
/** Community heuristic: fragmentation above 1.5 on a non-trivial dataset wastes memory. */
export const FRAGMENTATION_HIGH = 1.5;
export const FRAGMENTATION_MIN_BYTES = 64 * 1024 * 1024;

export function redisRules(facts: Facts): Finding[] {
  if (!facts.redis.ok) return [];
  const r = facts.redis.facts;
  const out: Finding[] = [];
  if ((r.evictedInWindow ?? 0) > 0) {
    out.push({
      id: 'redis-evictions',
      component: 'redis',
      severity: 'warning',
      title: `Redis evicted ${count(r.evictedInWindow!)} keys in the window`,
      evidence: {
        evictedInWindow: r.evictedInWindow,
        evictedTotal: r.evictedKeys,
        usedMemory: r.usedMemory,
        maxmemory: r.maxmemory,
        policy: r.maxmemoryPolicy,
      },
      detail: `${count(r.evictedInWindow!)} keys evicted (${count(r.evictedKeys)} since start) at ${bytes(r.usedMemory)} of maxmemory ${bytes(r.maxmemory)} (${r.maxmemoryPolicy}). An evicted idempotency lock lets a redelivered job run twice; an evicted rate-limit window lets a client through.`,
      bottleneck: 'Redis maxmemory',
      fix: 'Increase maxmemory (keys × ~200 B, measured with MEMORY USAGE), keep allkeys-lru.',
      command: 'sentinel-ctl tune redis --write',
      source: src.symptoms,
    });
  }
  if ((r.errorRepliesInWindow ?? 0) > 0) {
    const kinds = Object.entries(r.errorStats)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    out.push({
      id: 'redis-errors',
      component: 'redis',
      severity: 'warning',
      title: `Redis answered ${count(r.errorRepliesInWindow!)} commands with an error`,
      evidence: {
        errorRepliesInWindow: r.errorRepliesInWindow,
        errorStats: kinds || null,
        policy: r.maxmemoryPolicy,
      },
      detail: `${count(r.errorRepliesInWindow!)} error replies in the window (since start: ${kinds || 'none by kind'}).${r.errorStats.OOM ? ' OOM errors mean maxmemory is reached under noeviction.' : ''}`,
      bottleneck: r.errorStats.OOM ? 'Redis maxmemory' : 'Redis clients',
      fix: r.errorStats.OOM
        ? 'Increase maxmemory or use allkeys-lru so writes evict instead of failing.'
        : 'Read the errors in the clients’ logs.',
      command: r.errorStats.OOM ? 'sentinel-ctl tune redis --write' : undefined,
      source: r.errorStats.OOM ? src.symptoms : src.sarkRedisErrors,
    });
  }
  if (r.maxmemory > 0) {
    const c = classifyRedisMemory(r.usedMemory, r.maxmemory);
    const severity = bandSeverity(c);
    if (severity) {
      out.push({
        id: 'redis-memory',
        component: 'redis',
        severity,
        title: `Redis memory at ${pct(c.ratio)} of maxmemory`,
        evidence: {
          usedMemory: r.usedMemory,
          maxmemory: r.maxmemory,
          ratio: Number(c.ratio.toFixed(3)),
          policy: r.maxmemoryPolicy,
        },
        detail: `${bytes(r.usedMemory)} of ${bytes(r.maxmemory)}: ${c.reason}.${r.maxmemoryPolicy === 'noeviction' ? ' With noeviction, writes fail once it is full.' : ''}`,
        bottleneck: 'Redis memory',
        fix: 'Raise maxmemory, shorten TTLs, keep maxmemory-policy allkeys-lru.',
        command: 'sentinel-ctl tune redis --write',
        source: src.resourceTargets,
      });
    }
  } else {
    out.push({
      id: 'redis-no-maxmemory',
      component: 'redis',
      severity: 'info',
      title: 'Redis has no maxmemory: it grows until the host runs out',
      evidence: { maxmemory: 0, usedMemory: r.usedMemory },
      detail: `maxmemory is 0 (unlimited) at ${bytes(r.usedMemory)} used.`,
      bottleneck: 'none yet (host memory later)',
      fix: 'Set maxmemory 128mb and maxmemory-policy allkeys-lru, as the tuning guide does.',
      command: 'sentinel-ctl tune redis --write',
      source: src.redis,
    });
  }
  const lookups = (r.hitsInWindow ?? 0) + (r.missesInWindow ?? 0);
  if (r.hitRate !== null && lookups >= MIN_LOOKUPS && r.hitRate < HIT_RATE_TARGET) {
    out.push({
      id: 'redis-hit-rate',
      component: 'redis',
      severity: 'warning',
      title: `Redis hit rate ${pct(r.hitRate)} (target > 80 %)`,
      evidence: { hitRate: Number(r.hitRate.toFixed(3)), hits: r.hitsInWindow, misses: r.missesInWindow },
      detail: `${count(r.hitsInWindow!)} hits, ${count(r.missesInWindow!)} misses in the window. Cache misses cause database round trips.`,
      bottleneck: 'cache misses',
      fix: 'Increase TTLs, pre-warm the cache, and check evictions (evicted_keys).',
      source: src.sarkCacheHitRate,
    });
  }
  if ((r.rejectedInWindow ?? 0) > 0) {
    out.push({
      id: 'redis-rejected-connections',
      component: 'redis',
      severity: 'warning',
      title: `Redis rejected ${count(r.rejectedInWindow!)} connections (maxclients)`,
      evidence: { rejectedInWindow: r.rejectedInWindow, connectedClients: r.connectedClients },
      detail: `${count(r.rejectedInWindow!)} connections refused at ${count(r.connectedClients)} clients.`,
      bottleneck: 'Redis maxclients',
      fix: 'Cap client pools (50 per pod) or raise maxclients.',
      source: src.sarkRedisErrors,
    });
  }
  if (r.blockedClients > 0) {
    out.push({
      id: 'redis-blocked-clients',
      component: 'redis',
      severity: 'info',
      title: `${r.blockedClients} Redis client${r.blockedClients > 1 ? 's' : ''} blocked`,
      evidence: { blockedClients: r.blockedClients, connectedClients: r.connectedClients },
      detail: `${r.blockedClients} clients wait in a blocking command (BLPOP, WAIT, ...).`,
      bottleneck: 'none unless it grows',
      fix: 'Expected for blocking consumers; otherwise find the command with CLIENT LIST.',
      source: src.sarkRedisErrors,
    });
  }
  if (
    r.fragmentationRatio !== null &&
    r.fragmentationRatio > FRAGMENTATION_HIGH &&
    r.usedMemory >= FRAGMENTATION_MIN_BYTES
  ) {
    out.push({
      id: 'redis-fragmentation',
      component: 'redis',
      severity: 'info',
      title: `Redis memory fragmentation ${r.fragmentationRatio}`,
      evidence: { fragmentationRatio: r.fragmentationRatio, usedMemory: r.usedMemory },
      detail: `RSS is ${r.fragmentationRatio} × the dataset (${bytes(r.usedMemory)}).`,
      bottleneck: 'Redis memory',
      fix: 'CONFIG SET activedefrag yes, or restart the replica during a quiet period.',
      source: src.sarkRedisMemory,
    });
  }
  return out;
}
