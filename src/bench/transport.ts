/** What the HTTP clients of bench share (http.ts over undici, rawhttp.ts over raw sockets). */
import type { FailureKind } from './metrics.js';

/** What one request came back with; `error` set means no response (refused, reset, timeout). */
export interface HttpResponse {
  status: number;
  bytes: number;
  /** Only when the caller asked for it (setup captures, Sentinel polling). */
  body?: Buffer;
  error?: string;
  /** Why no response came back, as k6's error codes split it. */
  cause?: FailureKind;
}

/** The cause of a transport error from its code (Node's errno or undici's UND_ERR_*). */
export function errorCause(error: unknown): FailureKind {
  const seen = new Set<unknown>();
  let e = error as { code?: string; cause?: unknown; errors?: unknown[]; message?: string } | undefined;
  while (e && !seen.has(e)) {
    seen.add(e);
    const code = e.code ?? '';
    if (/TIMEOUT|ETIMEDOUT/.test(code)) return 'timeout';
    if (code === 'ECONNREFUSED') return 'refused';
    if (['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED'].includes(code)) return 'reset';
    if (['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME'].includes(code)) return 'dns';
    if (/^ERR_(TLS|SSL)|CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return 'tls';
    e = (e.errors?.[0] ?? e.cause) as typeof e;
  }
  return 'network';
}

export interface HttpClientOptions {
  /** Keep-alive connections per origin; null lets a pool open one per request in flight. */
  connections: number | null;
  /**
   * Closed model: each VU keeps its own connection (slot = VU id modulo `connections`), as k6
   * and wrk do. Skipping the pool's dispatch queue is the cheapest path through undici.
   */
  perVuConnections: boolean;
  /**
   * Whole-request timeout (queueing for a connection, connecting, headers and body), enforced by
   * a timer of our own at the value: undici's own timers start only once the request is written
   * and tick at 1 s above one second. A request that hits it counts as a `timeout` failure.
   */
  timeoutMs: number;
}
