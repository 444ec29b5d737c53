import type { Redis } from 'ioredis';

/**
 * The per-IP rate limit of the tuning guide ("API Server": API_RATE_LIMIT requests per minute per
 * IP; "Redis > Usage in Sentinel": a sliding window counter per IP). The window is approximated
 * the usual way: this minute's count plus last minute's, weighted by how much of it still
 * overlaps the sliding window — two small keys per IP, each living two minutes.
 */
export interface RateDecision {
  allowed: boolean;
  /** Weighted requests in the sliding minute, this one included. */
  count: number;
  limit: number;
  retryAfterSeconds: number;
}

export function slidingWindowCount(previous: number, current: number, elapsedFraction: number): number {
  return previous * (1 - elapsedFraction) + current;
}

export async function checkRateLimit(
  redis: Redis,
  ip: string,
  limit: number,
  now = Date.now(),
): Promise<RateDecision> {
  const windowMs = 60_000;
  const window = Math.floor(now / windowMs);
  const key = (w: number) => `sentinel:rl:${ip}:${w}`;
  const res = await redis
    .multi()
    .incr(key(window))
    .pexpire(key(window), 2 * windowMs)
    .get(key(window - 1))
    .exec();
  if (!res) throw new Error('rate limit transaction aborted');
  const current = Number(res[0]?.[1] ?? 0);
  const previous = Number(res[2]?.[1] ?? 0);
  const elapsed = (now % windowMs) / windowMs;
  const count = slidingWindowCount(previous, current, elapsed);
  const allowed = count <= limit;
  return {
    allowed,
    count,
    limit,
    retryAfterSeconds: allowed ? 0 : Math.ceil((windowMs - (now % windowMs)) / 1000),
  };
}
