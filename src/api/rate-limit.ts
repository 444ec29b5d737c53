import type { Redis } from 'ioredis';

/**
 * The per-IP rate limit of the tuning guide ("API Server": API_RATE_LIMIT requests per minute per
 * IP; "Redis > Usage in Sentinel": a sliding window counter per IP). The window is approximated
 * the usual way: this minute's count plus last minute's, weighted by how much of it still
 * overlaps the sliding window — two small keys per IP, each living two minutes.
 *
 * Hand-written rather than rate-limiter-flexible: that library counts refused requests too and
 * has fixed windows, while here a refused request must not count (a client that retries too early
 * would otherwise never get in) and `Retry-After` is the exact time until the next acceptance.
 */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Requests still accepted right now (after this one, when it was accepted). */
  remaining: number;
  /** 0 when allowed; else milliseconds until a request would be accepted. */
  retryAfterMs: number;
}

export const RATE_WINDOW_MS = 60_000;

/** Checks and, only when the request is accepted, counts it: one round trip, atomic. */
const SCRIPT = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
if prev * (window - elapsed) / window + cur + 1 <= limit then
  cur = redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], 2 * window)
  return {1, cur, prev}
end
return {0, cur, prev}`;

export function slidingWindowCount(previous: number, current: number, elapsedFraction: number): number {
  return previous * (1 - elapsedFraction) + current;
}

/**
 * Milliseconds from now until one more request fits: `elapsedMs` into the current window, with
 * `previous` and `current` accepted requests in the last and the current window. Within this
 * window the previous window's weight falls linearly; failing that, in the next window this
 * window's count becomes the falling one.
 */
export function msUntilAccepted(
  previous: number,
  current: number,
  limit: number,
  elapsedMs: number,
  windowMs = RATE_WINDOW_MS,
): number {
  if (slidingWindowCount(previous, current, elapsedMs / windowMs) + 1 <= limit) return 0;
  if (current + 1 <= limit && previous > 0) {
    // previous · (window − e) / window + current + 1 ≤ limit  ⇔  e ≥ window − (limit − current − 1) · window / previous
    const e = windowMs - ((limit - current - 1) * windowMs) / previous;
    return Math.max(0, Math.ceil(e - elapsedMs));
  }
  const toNext = windowMs - elapsedMs;
  if (current === 0) return toNext;
  const g = windowMs - ((limit - 1) * windowMs) / current;
  return Math.ceil(toNext + Math.max(0, g));
}

export async function checkRateLimit(
  redis: Redis,
  ip: string,
  limit: number,
  now = Date.now(),
): Promise<RateDecision> {
  const window = Math.floor(now / RATE_WINDOW_MS);
  const elapsed = now % RATE_WINDOW_MS;
  const key = (w: number) => `sentinel:rl:${ip}:${w}`;
  const [allowed, current, previous] = (await redis.eval(
    SCRIPT,
    2,
    key(window),
    key(window - 1),
    limit,
    RATE_WINDOW_MS,
    elapsed,
  )) as [number, number, number];
  const weighted = slidingWindowCount(previous, current, elapsed / RATE_WINDOW_MS);
  return {
    allowed: allowed === 1,
    limit,
    remaining: Math.max(0, Math.floor(limit - weighted)),
    retryAfterMs: allowed === 1 ? 0 : Math.max(1, msUntilAccepted(previous, current, limit, elapsed)),
  };
}
