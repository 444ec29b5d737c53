import { createRequire } from 'node:module';
import type { Client, Dispatcher } from 'undici';
import { describeError } from '../lib/errors.js';
import { errorCause, type HttpClientOptions, type HttpResponse } from './transport.js';

export { errorCause, type HttpClientOptions, type HttpResponse };

/**
 * undici, loaded on first use: single-URL mode never needs it (rawhttp.ts), and loading it costs
 * about 0.1 CPU-second of start-up, which the generator's efficiency figures include.
 */
let undici: typeof import('undici') | undefined;
const lazyUndici = (): typeof import('undici') => {
  undici ??= createRequire(import.meta.url)('undici') as typeof import('undici');
  return undici;
};

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
        c = new (lazyUndici().Client)(origin, this.options());
        list[i] = c;
      }
      return c;
    }
    let p = this.pools.get(origin);
    if (!p) {
      p = new (lazyUndici().Pool)(origin, { ...this.options(), connections: this.opts.connections });
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
