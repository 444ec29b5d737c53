import net from 'node:net';
import { describeError } from '../lib/errors.js';
import { errorCause, type HttpClientOptions, type HttpResponse } from './http.js';

const CRLF2 = Buffer.from('\r\n\r\n');

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
 * one prebuilt buffer, the response is parsed in place (status line, content-length or chunked
 * body, connection: close) without building header objects. What the single-URL mode needs and
 * nothing more; anything else goes through undici (http.ts).
 */
class RawConnection {
  private socket?: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private current?: Pending;
  private status = 0;
  private bytes = 0;
  /** Body framing of the current response: remaining bytes, or -1 chunked, -2 until close. */
  private remaining = 0;
  private headerDone = false;
  private chunks?: Buffer[];
  private closeAfter = false;
  private answered = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs: number,
    private readonly onIdle: (c: RawConnection) => void,
  ) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  send(p: Pending): void {
    this.current = p;
    this.status = 0;
    this.bytes = 0;
    this.headerDone = false;
    this.chunks = undefined;
    this.closeAfter = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => this.fail(new Error(`no response within ${this.timeoutMs} ms`), 'timeout'),
      Math.max(0, p.deadline - performance.now()),
    );
    if (!this.socket || this.socket.destroyed) this.connect();
    this.socket!.write(p.request);
  }

  private connect(): void {
    const s = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = s;
    this.buf = Buffer.alloc(0);
    this.answered = 0;
    s.on('data', (d: Buffer) => this.onData(d));
    s.on('error', (e) => this.onSocketEnd(s, e));
    s.on('close', () => this.onSocketEnd(s));
  }

  private onSocketEnd(s: net.Socket, error?: Error): void {
    if (s !== this.socket) return;
    this.socket = undefined;
    const p = this.current;
    if (!p) return;
    if (this.headerDone && this.remaining === -2 && !error) {
      this.complete();
      return;
    }
    // A kept-alive connection the server closed while idle: send once more on a new one.
    if (this.answered > 0 && !this.headerDone && this.bytes === 0 && !p.retried) {
      p.retried = true;
      this.connect();
      this.socket!.write(p.request);
      return;
    }
    this.fail(error ?? Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' }));
  }

  private fail(error: Error, cause = errorCause(error)): void {
    const p = this.current;
    if (!p) return;
    this.finish();
    this.socket?.destroy();
    this.socket = undefined;
    p.resolve({ status: this.status, bytes: this.bytes, error: describeError(error), cause });
    this.onIdle(this);
  }

  private finish(): void {
    clearTimeout(this.timer);
    this.current = undefined;
  }

  private complete(): void {
    const p = this.current!;
    const body = this.chunks ? Buffer.concat(this.chunks) : undefined;
    this.answered += 1;
    this.finish();
    if (this.closeAfter) {
      this.socket?.destroy();
      this.socket = undefined;
    }
    p.resolve({ status: this.status, bytes: this.bytes, body });
    this.onIdle(this);
  }

  private onData(d: Buffer): void {
    if (!this.current) return; // unsolicited bytes on an idle connection: ignore
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    if (!this.headerDone) {
      const end = this.buf.indexOf(CRLF2);
      if (end < 0) return;
      this.parseHead(this.buf.toString('latin1', 0, end));
      this.buf = this.buf.subarray(end + 4);
      if (this.current.wantBody) this.chunks = [];
      if (this.remaining === 0) {
        this.complete();
        return;
      }
    }
    this.parseBody();
  }

  private parseHead(head: string): void {
    this.headerDone = true;
    this.status = Number(head.slice(9, 12));
    let length = -2;
    const lower = head.toLowerCase();
    const cl = lower.indexOf('\r\ncontent-length:');
    if (cl >= 0) length = Number.parseInt(lower.slice(cl + 17, lower.indexOf('\r\n', cl + 2) >>> 0), 10);
    if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) length = -1;
    this.closeAfter = /\r\nconnection:\s*close/.test(lower) || head.startsWith('HTTP/1.0');
    const noBody =
      this.current!.head ||
      this.status === 204 ||
      this.status === 304 ||
      (this.status >= 100 && this.status < 200);
    this.remaining = noBody ? 0 : length;
  }

  private parseBody(): void {
    if (this.remaining > 0) {
      const take = Math.min(this.remaining, this.buf.length);
      this.take(take);
      this.remaining -= take;
      if (this.remaining === 0) this.complete();
      return;
    }
    if (this.remaining === -2) {
      this.take(this.buf.length);
      return;
    }
    // Chunked: size line, data, CRLF; a zero-size chunk then the (empty) trailer ends the body.
    for (;;) {
      const nl = this.buf.indexOf('\r\n');
      if (nl < 0) return;
      const size = Number.parseInt(this.buf.toString('latin1', 0, nl), 16);
      if (size === 0) {
        const end = this.buf.indexOf(CRLF2, Math.max(0, nl - 2));
        if (end < 0) return;
        this.buf = this.buf.subarray(end + 4);
        this.complete();
        return;
      }
      if (this.buf.length < nl + 2 + size + 2) return;
      this.buf = this.buf.subarray(nl + 2);
      this.take(size);
      this.buf = this.buf.subarray(2);
    }
  }

  private take(n: number): void {
    if (n === 0) return;
    this.bytes += n;
    this.chunks?.push(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
  }

  close(): void {
    clearTimeout(this.timer);
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
  private readonly idle: RawConnection[] = [];
  private readonly queue: Pending[] = [];
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly cache = new WeakMap<object, Map<string, Buffer>>();
  private readonly noHeaders = {};

  constructor(
    origin: string,
    private readonly opts: HttpClientOptions,
  ) {
    const u = new URL(origin);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
    this.hostHeader = u.host;
  }

  private request(
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    body: string | undefined,
  ): Buffer {
    // Single-URL mode sends the same request every time: one buffer per (headers object, method, path).
    const byHeaders = body === undefined ? this.cacheFor(headers) : undefined;
    const key = `${method} ${path}`;
    const hit = byHeaders?.get(key);
    if (hit) return hit;
    let text = `${method} ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
    for (const [k, v] of Object.entries(headers ?? {})) text += `${k}: ${v}\r\n`;
    const b = body === undefined ? undefined : Buffer.from(body);
    if (b) text += `content-length: ${b.length}\r\n`;
    const head = Buffer.from(`${text}\r\n`, 'latin1');
    const buf = b ? Buffer.concat([head, b]) : head;
    if (byHeaders && byHeaders.size < 64) byHeaders.set(key, buf);
    return buf;
  }

  private cacheFor(headers: Record<string, string> | undefined): Map<string, Buffer> {
    const owner = headers ?? this.noHeaders;
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
      this.conns[i] ??= this.newConnection();
      return this.conns[i]!.busy ? undefined : this.conns[i];
    }
    const c = this.idle.pop();
    if (c) return c;
    if (this.conns.length < max) {
      const n = this.newConnection();
      this.conns.push(n);
      return n;
    }
    return undefined;
  }

  private newConnection(): RawConnection {
    return new RawConnection(this.host, this.port, this.opts.timeoutMs, (c) => {
      const next = this.queue.shift();
      if (next) c.send(next);
      else if (!this.opts.perVuConnections) this.idle.push(c);
    });
  }

  send(
    _origin: string,
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    body: string | undefined,
    wantBody: boolean,
    slot = 0,
  ): Promise<HttpResponse> {
    return new Promise((resolve) => {
      const p: Pending = {
        request: this.request(method, path, headers, body),
        head: method === 'HEAD',
        wantBody,
        resolve,
        retried: false,
        deadline: performance.now() + this.opts.timeoutMs,
      };
      const c = this.connection(slot);
      if (c) c.send(p);
      else this.queue.push(p);
    });
  }

  async close(_force = false): Promise<void> {
    for (const c of this.conns) c.close();
    for (const p of this.queue.splice(0))
      p.resolve({ status: 0, bytes: 0, error: 'closed', cause: 'network' });
  }
}
