/**
 * Redis rules: the symptom row "Redis errors → eviction under load → increase maxmemory", memory
 * against maxmemory (SARK 75 / 90 / 95 %), maxmemory-policy against the tuning guide's allkeys-lru,
 * rejected connections and error replies (SARK "Redis Connection Errors"). No hit-rate rule: this
 * Redis is not a cache.
 */
import { classifyRedisMemory } from '../../tuners/resource-targets.js';
import { diagnoseSources as src } from '../sources.js';
import type { Facts, Finding } from '../types.js';
import { bandSeverity } from './common.js';
import { bytes, count, pct } from './format.js';

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
    // By kind over the window: a lifetime OOM count would keep advising about maxmemory after
    // the policy was fixed.
    const inWindow = r.errorStatsInWindow ?? {};
    const kinds = Object.entries(inWindow)
      .map(([k, v]) => `${count(v)} ${k}`)
      .join(', ');
    const oom = (inWindow.OOM ?? 0) > 0;
    out.push({
      id: 'redis-errors',
      component: 'redis',
      severity: 'warning',
      title: `Redis answered ${count(r.errorRepliesInWindow!)} commands with an error${kinds ? ` (${kinds})` : ''}`,
      evidence: {
        errorRepliesInWindow: r.errorRepliesInWindow,
        errorKindsInWindow: kinds || null,
        policy: r.maxmemoryPolicy,
      },
      detail: `${count(r.errorRepliesInWindow!)} error replies in the window${kinds ? ` (${kinds})` : ''}.${oom ? ' OOM errors mean maxmemory is reached under noeviction.' : ''}`,
      bottleneck: oom ? 'Redis maxmemory' : 'Redis clients',
      fix: oom
        ? 'Increase maxmemory or use allkeys-lru so writes evict instead of failing.'
        : 'Read the errors in the clients’ logs.',
      command: oom ? 'sentinel-ctl tune redis --write' : undefined,
      source: oom ? src.symptoms : src.sarkRedisErrors,
    });
  }
  if (r.maxmemoryPolicy !== 'allkeys-lru' && r.maxmemoryPolicy !== 'unknown') {
    out.push({
      id: 'redis-maxmemory-policy',
      component: 'redis',
      severity: r.maxmemoryPolicy === 'noeviction' && r.maxmemory > 0 ? 'warning' : 'info',
      title: `Redis maxmemory-policy is ${r.maxmemoryPolicy}, not allkeys-lru`,
      evidence: { policy: r.maxmemoryPolicy, maxmemory: r.maxmemory, usedMemory: r.usedMemory },
      detail: `maxmemory-policy ${r.maxmemoryPolicy}${r.maxmemoryPolicy === 'noeviction' ? ': once maxmemory is reached every write fails with OOM (locks and rate limits included)' : ''}; the tuning guide runs Redis with allkeys-lru.`,
      bottleneck: 'none yet (Redis writes at maxmemory)',
      fix: 'CONFIG SET maxmemory-policy allkeys-lru and persist it in redis.conf.',
      command: 'sentinel-ctl tune redis --write',
      source: src.redis,
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
  // No hit-rate rule: Sentinel's Redis holds idempotency locks and rate-limit windows, not a
  // cache, so a lookup that misses is the normal "no lock yet" answer (hit rates stay in the facts).
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
