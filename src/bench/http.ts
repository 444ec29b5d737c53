import { Client, type Dispatcher, Pool } from 'undici';
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
  /** Keep-alive connections per origin; null lets a pool open one per request in flight. */
  connections: number | null;
  /**
   * Closed model: each VU keeps its own connection (slot = VU id modulo `connections`), as k6
   * and wrk do. Skipping the pool's dispatch queue is the cheapest path through undici.
   */
  perVuConnections: boolean;
  /** Headers and body timeout per request. */
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
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
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
      const handler: Dispatcher.DispatchHandler = {
        onConnect() {},
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
          resolve({ status, bytes, body: chunks ? Buffer.concat(chunks) : undefined });
        },
        onError(error) {
          resolve({ status, bytes, error: describeError(error) });
        },
      };
      try {
        this.dispatcher(origin, slot).dispatch({ origin, method, path, headers, body }, handler);
      } catch (error) {
        resolve({ status: 0, bytes: 0, error: describeError(error) });
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
