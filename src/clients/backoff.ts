/**
 * Exponential backoff with full jitter (the AWS architecture blog's "full jitter"): reconnect
 * loops of many workers after a broker restart do not all hit it in the same instant.
 */
export function backoffMs(attempt: number, baseMs = 250, maxMs = 10_000, random = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(cap / 2 + random() * (cap / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
