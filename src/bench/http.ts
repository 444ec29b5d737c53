import { type Dispatcher, Pool } from 'undici';
import { describeError } from '../lib/errors.js';

/** What one request came back with; `error` set means no response (refused, reset, timeout). */
export interface HttpResponse {
  status: number;
  bytes: number;
  /** Only when the caller asked for it (setup captures, Sentinel polling). */
  body?: Buffer;
  error?: string;
}

export interface HttpClientOptions {
  /** Connections per origin; null lets the pool open as many as there are requests in flight. */
  connections: number | null;
  /** Headers and body timeout per request. */
  timeoutMs: number;
}

/**
 * The load generator's HTTP client: one undici Pool per origin with keep-alive connections and
 * the low-level `dispatch` API. `dispatch` skips the stream machinery of `request()` (about twice
 * the requests per second on one core), which is what keeps the generator from being the
 * bottleneck; response bodies are drained, or collected only when a scenario needs them.
 */
export class HttpClient {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly opts: HttpClientOptions) {}

  private pool(origin: string): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, {
        connections: this.opts.connections,
        pipelining: 1,
        keepAliveTimeout: 60_000,
        keepAliveMaxTimeout: 600_000,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        connectTimeout: Math.min(this.opts.timeoutMs, 10_000),
      });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** Sends one request; never rejects (a failure comes back as `error`). */
  send(
    origin: string,
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    body: string | undefined,
    wantBody: boolean,
  ): Promise<HttpResponse> {
    return new Promise((resolve) => {
      let status = 0;
      let bytes = 0;
      let chunks: Buffer[] | undefined;
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart() {},
        onResponseStart(_ctl, statusCode) {
          status = statusCode;
          if (wantBody) chunks = [];
        },
        onResponseData(_ctl, chunk) {
          bytes += chunk.length;
          chunks?.push(chunk);
        },
        onResponseEnd() {
          resolve({ status, bytes, body: chunks ? Buffer.concat(chunks) : undefined });
        },
        onResponseError(_ctl, error) {
          resolve({ status, bytes, error: describeError(error) });
        },
      };
      try {
        this.pool(origin).dispatch({ origin, method, path, headers, body }, handler);
      } catch (error) {
        resolve({ status: 0, bytes: 0, error: describeError(error) });
      }
    });
  }

  /** Closes every pool: `force` aborts requests still in flight (the hard stop). */
  async close(force = false): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => (force ? p.destroy() : p.close()).catch(() => {})));
  }
}
