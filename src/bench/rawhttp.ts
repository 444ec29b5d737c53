import net from 'node:net';
import { describeError } from '../lib/errors.js';
import { now } from './lag.js';
import { Parsed, ResponseParser } from './response-parser.js';
import { errorCause, type HttpClientOptions, type HttpResponse } from './transport.js';

/** One read buffer per client, shared by its connections: each read is parsed before the next. */
const READ_BUFFER_BYTES = 64 * 1024;

interface Pending {
  request: Buffer;
  head: boolean;
  wantBody: boolean;
  resolve: (r: HttpResponse) => void;
  /** Sent on a connection that had answered before: a failure before any byte may be retried once. */
  retried: boolean;
  /** When the request times out (the time queued for a connection counts). */
  deadline: number;
}

/**
 * One keep-alive HTTP/1.1 connection over a raw socket, one request at a time: the request is
 * one prebuilt buffer, the response is parsed where it was read (response-parser.ts): no header
 * objects, no strings, no per-read buffers (the socket reads into the client's one buffer via
 * net's `onread`, bypassing the stream machinery). What the single-URL mode needs and nothing
 * more; anything else goes through undici (http.ts). Timeouts are the client's (one timer for all
 * connections), not a timer per request.
 */
class RawConnection {
  private socket?: net.Socket;
  private current?: Pending;
  private readonly parser = new ResponseParser();
  private answered = 0;
  /** Deadline of the request in flight (meaningful while busy). */
  deadline = 0;

  constructor(
    private readonly client: RawHttpClient,
    private readonly readBuffer: Buffer,
  ) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  send(p: Pending): void {
    this.current = p;
    this.deadline = p.deadline;
    this.parser.reset(p.head, p.wantBody);
    this.client.watch(p.deadline);
    if (!this.socket || this.socket.destroyed) this.connect();
    this.socket!.write(p.request);
  }

  private connect(): void {
    const s = net.connect({
      host: this.client.host,
      port: this.client.port,
      noDelay: true,
      onread: {
        buffer: this.readBuffer,
        callback: (n: number, buf: Uint8Array) => {
          this.onRead(n, buf as Buffer);
          return true;
        },
      },
    });
    this.socket = s;
    this.answered = 0;
    s.on('error', (e) => this.onSocketEnd(s, e));
    s.on('close', () => this.onSocketEnd(s));
  }

  private onSocketEnd(s: net.Socket, error?: Error): void {
    if (s !== this.socket) return;
    this.socket = undefined;
    const p = this.current;
    if (!p) return;
    if (this.parser.untilClose && !error) {
      this.complete();
      return;
    }
    // A kept-alive connection the server closed while idle: send once more on a new one.
    if (this.answered > 0 && this.parser.untouched && !p.retried) {
      p.retried = true;
      this.connect();
      this.socket!.write(p.request);
      return;
    }
    this.fail(error ?? Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' }));
  }

  /** The client's timer found this request past its deadline. */
  timeout(): void {
    this.fail(new Error(`no response within ${this.client.timeoutMs} ms`), 'timeout');
  }

  private fail(error: Error, cause = errorCause(error)): void {
    const p = this.current;
    if (!p) return;
    this.current = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    p.resolve({ status: this.parser.status, bytes: this.parser.bytes, error: describeError(error), cause });
    this.client.idle(this);
  }

  private complete(): void {
    const p = this.current!;
    const parser = this.parser;
    const body = parser.body ? Buffer.concat(parser.body) : undefined;
    this.answered += 1;
    this.current = undefined;
    if (parser.closeAfter) {
      this.socket?.destroy();
      this.socket = undefined;
    }
    p.resolve({ status: parser.status, bytes: parser.bytes, body });
    this.client.idle(this);
  }

  private onRead(n: number, buf: Buffer): void {
    if (!this.current) return; // unsolicited bytes on an idle connection: ignore
    const r = this.parser.feed(buf, n);
    if (r === Parsed.Complete) this.complete();
    else if (r === Parsed.Malformed) this.fail(new Error('the response is not HTTP/1.x'), 'network');
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}

/**
 * The lean client of single-URL mode (plain http:, one origin): per-VU connections in the closed
 * model, a pool with a queue in the open model, the same `send` contract as HttpClient.
 */
export class RawHttpClient {
  private readonly conns: RawConnection[] = [];
  private readonly free: RawConnection[] = [];
  private readonly queue: Pending[] = [];
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  private readonly hostHeader: string;
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private readonly cache = new WeakMap<object, Map<string, Buffer>>();
  private readonly noHeaders = {};
  /** The last request built: single-URL mode asks for the same one every time. */
  private last?: { headers: object; method: string; path: string; buf: Buffer };
  /** One timer for every request's timeout, due at the earliest deadline in flight or queued. */
  private timer?: NodeJS.Timeout;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    origin: string,
    private readonly opts: HttpClientOptions,
  ) {
    const u = new URL(origin);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
    this.hostHeader = u.host;
    this.timeoutMs = opts.timeoutMs;
  }

  private request(
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    body: string | undefined,
  ): Buffer {
    const owner = headers ?? this.noHeaders;
    const last = this.last;
    if (body === undefined && last && last.headers === owner && last.method === method && last.path === path)
      return last.buf;
    // Otherwise one buffer per (headers object, method, path) for requests without a body.
    const byHeaders = body === undefined ? this.cacheFor(owner) : undefined;
    const key = `${method} ${path}`;
    let buf = byHeaders?.get(key);
    if (!buf) {
      let text = `${method} ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
      for (const [k, v] of Object.entries(headers ?? {})) text += `${k}: ${v}\r\n`;
      const b = body === undefined ? undefined : Buffer.from(body);
      if (b) text += `content-length: ${b.length}\r\n`;
      const head = Buffer.from(`${text}\r\n`, 'latin1');
      buf = b ? Buffer.concat([head, b]) : head;
      if (byHeaders && byHeaders.size < 64) byHeaders.set(key, buf);
    }
    if (body === undefined) this.last = { headers: owner, method, path, buf };
    return buf;
  }

  private cacheFor(owner: object): Map<string, Buffer> {
    let m = this.cache.get(owner);
    if (!m) {
      m = new Map();
      this.cache.set(owner, m);
    }
    return m;
  }

  private connection(slot: number): RawConnection | undefined {
    const max = this.opts.connections ?? Number.POSITIVE_INFINITY;
    if (this.opts.perVuConnections && this.opts.connections !== null) {
      const i = slot % this.opts.connections;
      this.conns[i] ??= new RawConnection(this, this.readBuffer);
      return this.conns[i]!.busy ? undefined : this.conns[i];
    }
    const c = this.free.pop();
    if (c) return c;
    if (this.conns.length < max) {
      const n = new RawConnection(this, this.readBuffer);
      this.conns.push(n);
      return n;
    }
    return undefined;
  }

  /** A connection finished its request: it takes the next queued one, or waits in the free list. */
  idle(c: RawConnection): void {
    const next = this.queue.shift();
    if (next) c.send(next);
    else if (!this.opts.perVuConnections) this.free.push(c);
  }

  /** Makes sure the timer fires no later than `deadline`. */
  watch(deadline: number): void {
    if (deadline >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(this.sweep, Math.max(1, Math.ceil(deadline - now())));
  }

  /** Fails what is past its deadline (in flight or still queued), then waits for the next deadline. */
  private readonly sweep = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const t = now();
    let next = Number.POSITIVE_INFINITY;
    // Queued in deadline order (one timeout for all): the expired ones are at the front.
    while (this.queue.length > 0 && this.queue[0]!.deadline <= t) {
      this.queue.shift()!.resolve({
        status: 0,
        bytes: 0,
        error: `no response within ${this.timeoutMs} ms`,
        cause: 'timeout',
      });
    }
    for (const c of this.conns) {
      if (!c?.busy) continue;
      if (c.deadline <= t) c.timeout();
      else if (c.deadline < next) next = c.deadline;
    }
    // Connections that took a queued request after a timeout armed the timer again themselves.
    if (this.queue.length > 0 && this.queue[0]!.deadline < next) next = this.queue[0]!.deadline;
    if (next < Number.POSITIVE_INFINITY) this.watch(next);
  };

  send(
    _origin: string,
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    body: string | undefined,
    wantBody: boolean,
    slot = 0,
  ): Promise<HttpResponse> {
    return new Promise((resolve) => this.sendCb(method, path, headers, body, wantBody, slot, now(), resolve));
  }

  /**
   * `send` without a promise: `done` gets the response (always later, never synchronously).
   * `sentAt`: the clock (lag.ts `now`) as the caller read it just before; the timeout counts from it.
   */
  sendCb(
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    body: string | undefined,
    wantBody: boolean,
    slot: number,
    sentAt: number,
    done: (r: HttpResponse) => void,
  ): void {
    const p: Pending = {
      request: this.request(method, path, headers, body),
      head: method === 'HEAD',
      wantBody,
      resolve: done,
      retried: false,
      deadline: sentAt + this.timeoutMs,
    };
    const c = this.connection(slot);
    if (c) c.send(p);
    else {
      this.queue.push(p);
      this.watch(p.deadline);
    }
  }

  async close(_force = false): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    for (const c of this.conns) c?.close();
    for (const p of this.queue.splice(0))
      p.resolve({ status: 0, bytes: 0, error: 'closed', cause: 'network' });
  }
}
