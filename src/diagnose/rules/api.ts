/**
 * API traffic from its own /metrics over the window: latency p95 against SARK's API response
 * targets (< 100 ms target, 200 ms warning, 500 ms critical — read as sizing bands: above 200 ms
 * is a warning finding, above 500 ms too, never a critical incident on its own), 5xx responses
 * (the tuning guide's validation wants 0 % HTTP failures) and 429s (rate limiting at work).
 */
import { diagnoseSources as src } from '../sources.js';
import type { Facts, Finding } from '../types.js';
import { count, pct, secs } from './format.js';

export const API_P95_TARGET_MS = 100;
export const API_P95_WARNING_MS = 200;
export const API_P95_CRITICAL_MS = 500;
/** Tool heuristic: fewer requests than this in the window make percentages noise. */
export const MIN_REQUESTS = 20;
/** Tool heuristic: a tenth of the submissions refused by the rate limit is worth knowing. */
export const RATE_LIMITED_SHARE = 0.1;

export function apiTrafficRules(facts: Facts): Finding[] {
  if (!facts.api.ok || !facts.api.facts.requests) return [];
  const r = facts.api.facts.requests;
  if (r.total < MIN_REQUESTS) return [];
  const out: Finding[] = [];
  if (r.p95Ms !== null && r.p95Ms > API_P95_TARGET_MS) {
    const band =
      r.p95Ms > API_P95_CRITICAL_MS
        ? 'critical band'
        : r.p95Ms > API_P95_WARNING_MS
          ? 'warning band'
          : 'above target';
    out.push({
      id: 'api-latency',
      component: 'api',
      severity: r.p95Ms > API_P95_WARNING_MS ? 'warning' : 'info',
      title: `API p95 ${Math.round(r.p95Ms)} ms over ${secs(r.seconds)} (SARK ${band}: target < 100 ms)`,
      evidence: { p95Ms: r.p95Ms, p99Ms: r.p99Ms, requests: r.total, windowSeconds: r.seconds },
      detail: `${count(r.total)} submit/get requests in ${secs(r.seconds)}: p95 ${Math.round(r.p95Ms)} ms, p99 ${r.p99Ms === null ? '?' : Math.round(r.p99Ms)} ms (SARK API response p95: target < 100, warning < 200, critical < 500 ms; sizing bands, so at most a warning here).`,
      bottleneck: 'API (database pool, broker confirms or CPU)',
      fix: 'Look at the database pool and the broker first (pool findings, queue); add API replicas when CPU is the limit.',
      command: 'sentinel-ctl tune pool',
      source: src.sarkLatency,
    });
  }
  const errors = Object.entries(r.byCode)
    .filter(([c]) => /^5/.test(c))
    .reduce((a, [, n]) => a + n, 0);
  if (errors > 0) {
    const codes = Object.entries(r.byCode)
      .filter(([c, n]) => /^5/.test(c) && n > 0)
      .map(([c, n]) => `${count(n)} × ${c}`)
      .join(', ');
    out.push({
      id: 'api-5xx',
      component: 'api',
      severity: 'warning',
      title: `API answered ${pct(errors / r.total)} of requests with 5xx (${codes})`,
      evidence: { errors, requests: r.total, ratio: Number((errors / r.total).toFixed(3)), codes },
      detail: `${count(errors)} of ${count(r.total)} submit/get requests in ${secs(r.seconds)} failed with ${codes}: 503 means a backend (queue, database) was unavailable; the validation target is 0 % HTTP failures.`,
      bottleneck: 'API backends',
      fix: 'Read the API log for the failing backend; check the health endpoint’s services.',
      command: 'sentinel-ctl logs api',
      source: src.validate,
    });
  }
  const limited = r.byCode['429'] ?? 0;
  if (limited / r.total >= RATE_LIMITED_SHARE) {
    out.push({
      id: 'api-rate-limited',
      component: 'api',
      severity: 'info',
      title: `${pct(limited / r.total)} of requests refused by the rate limit (429)`,
      evidence: { rateLimited: limited, requests: r.total },
      detail: `${count(limited)} of ${count(r.total)} requests in ${secs(r.seconds)} got 429: clients exceed API_RATE_LIMIT per minute per IP. Expected under a load test from one address.`,
      bottleneck: 'API rate limit (by design)',
      fix: 'Raise api.rateLimit (API_RATE_LIMIT) when the traffic is legitimate; spread load tests over addresses.',
      source: src.tool,
    });
  }
  return out;
}
