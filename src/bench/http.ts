import { Client, type Dispatcher, Pool } from 'undici';
import { describeError } from '../lib/errors.js';
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

/**
 * The load generator's HTTP client: undici with keep-alive connections and the low-level
 * `dispatch` API. `dispatch` skips the stream machinery of `request()` (about twice the requests
 * per second on one core); the callback-style handler (onHeaders/onData/onComplete) is what
 * undici's HTTP/1.1 client calls natively, so no adapter sits between it and us. Response bodies
 * are drained, or collected only when a scenario needs them.
 */
export class HttpClient {
  private readonly pools = new Map<string, Dispatcher>();
  private readonly perVu = new Map<string, Client[]>();

  constructor(private readonly opts: HttpClientOptions) {}

  private options() {
    return {
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      // Backstops only: the per-request timer in send() fires first.
      headersTimeout: this.opts.timeoutMs + 1000,
      bodyTimeout: this.opts.timeoutMs + 1000,
      connectTimeout: Math.min(this.opts.timeoutMs, 10_000),
    };
  }

  private dispatcher(origin: string, slot: number): Dispatcher {
    if (this.opts.perVuConnections && this.opts.connections !== null) {
      let list = this.perVu.get(origin);
      if (!list) {
        list = [];
        this.perVu.set(origin, list);
      }
      const i = slot % this.opts.connections;
      let c = list[i];
      if (!c) {
        c = new Client(origin, this.options());
        list[i] = c;
      }
      return c;
    }
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, { ...this.options(), connections: this.opts.connections });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** Sends one request on the VU's connection (`slot`); never rejects (a failure comes back as `error`). */
  send(
    origin: string,
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    body: string | undefined,
    wantBody: boolean,
    slot = 0,
  ): Promise<HttpResponse> {
    return new Promise((resolve) => {
      let status = 0;
      let bytes = 0;
      let chunks: Buffer[] | undefined;
      let settled = false;
      let abort: ((reason?: Error) => void) | undefined;
      const finish = (r: HttpResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        finish({ status, bytes, error: `no response within ${this.opts.timeoutMs} ms`, cause: 'timeout' });
        abort?.(new Error('request timeout'));
      }, this.opts.timeoutMs);
      const handler: Dispatcher.DispatchHandler = {
        onConnect(a) {
          abort = a;
          if (settled) a(new Error('request timeout'));
        },
        onHeaders(statusCode) {
          status = statusCode;
          if (wantBody) chunks = [];
          return true;
        },
        onData(chunk) {
          bytes += chunk.length;
          chunks?.push(chunk);
          return true;
        },
        onComplete() {
          finish({ status, bytes, body: chunks ? Buffer.concat(chunks) : undefined });
        },
        onError(error) {
          finish({ status, bytes, error: describeError(error), cause: errorCause(error) });
        },
      };
      try {
        this.dispatcher(origin, slot).dispatch({ origin, method, path, headers, body }, handler);
      } catch (error) {
        finish({ status: 0, bytes: 0, error: describeError(error), cause: errorCause(error) });
      }
    });
  }

  /** Closes every connection: `force` aborts requests still in flight (the hard stop). */
  async close(force = false): Promise<void> {
    const all: Dispatcher[] = [...this.pools.values(), ...[...this.perVu.values()].flat().filter(Boolean)];
    this.pools.clear();
    this.perVu.clear();
    await Promise.all(all.map((d) => (force ? d.destroy() : d.close()).catch(() => {})));
  }
}
