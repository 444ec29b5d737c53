import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type WebSocket, WebSocketServer } from 'ws';
import { ReconnectingAmqp } from '../clients/amqp.js';
import { deleteJob, getJob, insertJob } from '../jobs/repository.js';
import { describeError } from '../lib/errors.js';
import { pgClientUrl } from '../services/endpoints.js';
import { declareTopology, TASK_QUEUE } from '../services/rabbitmq/topology.js';
import {
  clientErrorAnswer,
  HttpError,
  isDatabaseUnavailable,
  isJsonContentType,
  readBody,
  sendJson,
  writeRawJson,
} from './http.js';
import { type LanguageInfo, languageVersions } from './languages.js';
import { checkRateLimit, type RateDecision } from './rate-limit.js';
import { StatusFeed, streamJob } from './stream.js';
import { DISCARD_BODY_BYTES, MAX_BODY_BYTES, validateSubmission } from './validate.js';

export interface ApiOptions {
  port: number;
  host: string;
  databaseUrl: string;
  rabbitmqUrl: string;
  redisUrl: string;
  /** pgx's pool_max_conns per replica, applied to this process's pool. */
  poolMaxConns: number;
  rateLimitPerMinute: number;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  deliveryLimit: number;
  defaults: { timeLimitMs: number; memoryLimitKb: number };
  log: (message: string) => void;
  /** How long the rate-limit check may wait for Redis before it lets the request through. */
  rateLimitTimeoutMs?: number;
  /** Access-Control-Allow-Origin: `*` (default) or a comma-separated list of origins. */
  corsOrigin?: string;
  /** Peers whose X-Forwarded-For is believed (IPs or CIDRs); by default nobody's. */
  trustedProxies?: string[];
  /** WebSocket keep-alive ping interval (default 30 s). */
  wsPingIntervalMs?: number;
}

/** What a request's answer exposes to a browser script on another origin (docs/api.md "CORS"). */
const EXPOSED_HEADERS = 'X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, Retry-After';
const ALLOWED_HEADERS = 'Content-Type, X-Request-ID';
const CORS_MAX_AGE_S = 86_400;
/** A client's X-Request-ID is kept when it is this tame; anything else is replaced by a UUID. */
const REQUEST_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Handler = (ctx: RequestContext) => Promise<{ status: number; body: unknown } | undefined>;
interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  params: string[];
  requestId: string;
  /** Set by a handler for the log line. */
  jobId?: string;
}
interface Route {
  name: string;
  pattern: RegExp;
  methods: Record<string, Handler>;
}

/**
 * The Sentinel submission API (docs/api.md): a job row is written before the message is
 * published with a publisher confirm; when publishing fails the row is removed and the client gets
 * 503, so no row waits QUEUED forever. Every request runs inside one error boundary: a bad request
 * gets a 4xx JSON error, a failing dependency a 503, and the process keeps serving.
 */
export class ApiServer {
  private readonly db: pg.Pool;
  private readonly redis: Redis;
  private readonly amqp: ReconnectingAmqp;
  private channel: amqp.ConfirmChannel | undefined;
  private server: http.Server | undefined;
  private readonly routes: Route[];
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'sentinel_api_requests_total',
    help: 'HTTP requests by route and status code.',
    labelNames: ['route', 'code'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'sentinel_api_request_duration_seconds',
    help: 'HTTP request latency by route.',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly failOpen = new Counter({
    name: 'sentinel_api_rate_limit_fail_open_total',
    help: 'Submissions let through without a rate-limit check because Redis did not answer in time.',
    registers: [this.registry],
  });
  readonly unhandled = new Counter({
    name: 'sentinel_api_unhandled_errors_total',
    help: 'Errors that escaped every request handler (logged; the process keeps serving).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly streamsOpen = new Gauge({
    name: 'sentinel_api_streams_open',
    help: 'Open WebSocket streams (GET /api/v1/submissions/:id/stream).',
    registers: [this.registry],
  });
  private lastFailOpenLog = 0;
  private readonly feed: StatusFeed;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
  private readonly trusted = new BlockList();
  private readonly origins: string[] | '*';
  private languages: Promise<LanguageInfo[]> | undefined;

  constructor(private readonly opts: ApiOptions) {
    // Named, so `diagnose` can tell the API's pool from other sessions of the same role.
    this.db = new pg.Pool({
      connectionString: pgClientUrl(opts.databaseUrl),
      max: opts.poolMaxConns,
      application_name: 'sentinel-api',
      // A database that does not answer is a 503 after this long, not a request hanging.
      connectionTimeoutMillis: 5000,
    });
    this.db.on('error', (e) => opts.log(`postgres: idle client error: ${describeError(e)}`));
    this.redis = new Redis(opts.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      // Redis down: commands fail at once instead of queueing until it is back.
      enableOfflineQueue: false,
      retryStrategy: (n) => Math.min(200 * 2 ** n, 5000),
    });
    this.redis.on('error', () => {});
    this.amqp = new ReconnectingAmqp(opts.rabbitmqUrl, opts.log, 'sentinel-api');
    this.feed = new StatusFeed(opts.databaseUrl, opts.log);
    for (const p of opts.trustedProxies ?? []) {
      const [ip = '', bits] = p.split('/');
      const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.trusted.addAddress(ip, type);
      else this.trusted.addSubnet(ip, Number(bits), type);
    }
    const origin = (opts.corsOrigin ?? '*').trim();
    this.origins = origin === '*' ? '*' : origin.split(',').map((o) => o.trim().replace(/\/$/, ''));
    collectDefaultMetrics({ register: this.registry });
    this.routes = [
      { name: 'submit', pattern: /^\/api\/v1\/submissions\/?$/, methods: { POST: (c) => this.submit(c) } },
      {
        name: 'get',
        pattern: /^\/api\/v1\/submissions\/([^/]+)\/?$/,
        methods: { GET: (c) => this.getSubmission(c.params[0]!) },
      },
      {
        name: 'stream',
        pattern: /^\/api\/v1\/submissions\/([^/]+)\/stream\/?$/,
        methods: { GET: (c) => this.streamWithoutUpgrade(c) },
      },
      {
        name: 'languages',
        pattern: /^\/api\/v1\/languages\/?$/,
        methods: { GET: () => this.listLanguages() },
      },
      { name: 'health', pattern: /^\/api\/v1\/health\/?$/, methods: { GET: () => this.health() } },
      { name: 'metrics', pattern: /^\/metrics\/?$/, methods: { GET: (c) => this.metrics(c.res) } },
    ];
  }

  async start(): Promise<void> {
    this.amqp.on('connected', (conn) => {
      this.openChannel(conn).catch((e) => this.opts.log(`api: publishing channel: ${describeError(e)}`));
    });
    this.amqp.on('disconnected', () => {
      this.channel = undefined;
    });
    this.amqp.start().catch((e) => this.opts.log(`api: rabbitmq: ${describeError(e)}`));
    await this.redis
      .connect()
      .catch((e) => this.opts.log(`redis: ${describeError(e)}; retrying in the background`));
    this.feed.start();
    this.languages = languageVersions();
    this.server = http.createServer(
      // Slow clients are cut off by requestTimeout/headersTimeout; check them often enough to matter.
      { connectionsCheckingInterval: Math.max(250, Math.min(5000, this.opts.readTimeoutMs / 4)) },
      (req, res) => this.boundary(req, res),
    );
    this.server.on('checkContinue', (req, res) => {
      // `Expect: 100-continue` with a body over the limit: refuse before the client sends it.
      if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
        this.corsHeaders(req, res);
        res.setHeader('x-request-id', pickRequestId(req.headers['x-request-id']));
        this.requests.inc({ route: 'submit', code: '413' });
        const error = `request body is larger than ${MAX_BODY_BYTES / 1024} KB`;
        sendJson(res, 413, { error }, { connection: 'close' });
        return;
      }
      res.writeContinue();
      this.boundary(req, res);
    });
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {});
      this.upgrade(req, socket, head).catch((error) => {
        this.unhandled.inc({ kind: 'upgrade' });
        this.opts.log(`api: upgrade failed: ${describeError(error)}`);
        writeRawJson(socket, 500, 'internal error');
      });
    });
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      const { status, message } = clientErrorAnswer(error);
      this.requests.inc({ route: 'invalid', code: String(status) });
      if (error.code !== 'ECONNRESET') writeRawJson(socket, status, message);
      else socket.destroy();
    });
    this.server.requestTimeout = this.opts.readTimeoutMs;
    this.server.headersTimeout = Math.min(this.opts.readTimeoutMs, 60_000);
    this.server.setTimeout(this.opts.writeTimeoutMs);
    this.server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.opts.log(`api: listening on http://${this.opts.host}:${this.opts.port}`);
  }

  private async openChannel(conn: amqp.ChannelModel): Promise<void> {
    try {
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => {});
      ch.on('close', () => {
        if (this.channel === ch) this.channel = undefined;
      });
      await declareTopology(ch, { deliveryLimit: this.opts.deliveryLimit });
      this.channel = ch;
    } catch (error) {
      this.opts.log(`api: cannot open a publishing channel: ${describeError(error)}`);
    }
  }

  /** The one error boundary every request goes through; nothing thrown here leaves it. */
  private boundary(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.route(req, res).catch((error) => {
      this.unhandled.inc({ kind: 'request' });
      this.opts.log(`api: request handling failed: ${describeError(error)}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    let route = 'other';
    let status = 500;
    let path = req.url ?? '';
    const requestId = pickRequestId(req.headers['x-request-id']);
    const ctx: Partial<RequestContext> = { requestId };
    res.setHeader('x-request-id', requestId);
    this.corsHeaders(req, res);
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '', 'http://api');
        path = url.pathname;
      } catch {
        throw new HttpError(400, 'the request target is not a valid URL');
      }
      const method = req.method ?? 'GET';
      let params: string[] = [];
      const match = this.routes.find((r) => {
        const m = r.pattern.exec(url.pathname);
        if (m) params = m.slice(1).map((p) => safeDecode(p));
        return m !== null;
      });
      if (method === 'OPTIONS') {
        // A CORS preflight (or a plain OPTIONS) on any path: what the route allows, no body.
        route = match?.name ?? 'other';
        status = 204;
        const methods = match ? [...Object.keys(match.methods), 'OPTIONS'] : ['GET', 'POST', 'OPTIONS'];
        if (methods.includes('GET')) methods.splice(methods.indexOf('GET') + 1, 0, 'HEAD');
        res.writeHead(204, {
          allow: methods.join(', '),
          'access-control-allow-methods': methods.join(', '),
          'access-control-allow-headers': ALLOWED_HEADERS,
          'access-control-max-age': String(CORS_MAX_AGE_S),
        });
        res.end();
        return;
      }
      if (!match) throw new HttpError(404, `no route for ${method} ${url.pathname}`);
      route = match.name;
      const handler = match.methods[method] ?? (method === 'HEAD' ? match.methods.GET : undefined);
      if (!handler) {
        const allow = Object.keys(match.methods);
        if (allow.includes('GET')) allow.push('HEAD');
        allow.push('OPTIONS');
        throw new HttpError(405, `method ${method} is not allowed on ${url.pathname}`, {
          allow: allow.join(', '),
        });
      }
      Object.assign(ctx, { req, res, url, params });
      const answer = await handler(ctx as RequestContext);
      if (answer) {
        status = answer.status;
        sendJson(res, status, answer.body);
      } else status = res.statusCode;
    } catch (error) {
      let headers: Record<string, string> = {};
      let message: string;
      if (error instanceof HttpError) {
        status = error.status;
        headers = { ...error.headers };
        message = error.message;
      } else if (isDatabaseUnavailable(error)) {
        status = 503;
        message = `database unavailable: ${describeError(error)}`;
        headers = { 'retry-after': '5' };
      } else {
        status = 500;
        message = 'internal error';
        this.opts.log(`api: ${req.method} ${path}: ${describeError(error)}`);
      }
      // An unread body must be read before answering, or closing the socket resets the connection
      // and the client never sees this answer.
      if (!req.complete && !(await drain(req, DISCARD_BODY_BYTES))) headers.connection = 'close';
      if (res.headersSent) res.destroy();
      else sendJson(res, status, { error: message }, headers);
    } finally {
      const ms = performance.now() - started;
      this.requests.inc({ route, code: String(status) });
      this.latency.observe({ route }, ms / 1000);
      // One line per submission and per failure, with the request id that the job message carries
      // on to the worker's lines (docs/api.md "Request ids"); polls are not logged.
      if (route === 'submit' || status >= 500) {
        this.opts.log(
          `api: request ${requestId} ${req.method} ${path} → ${status}${ctx.jobId ? ` job ${ctx.jobId}` : ''} (${Math.round(ms)} ms)`,
        );
      }
    }
  }

  /** CORS on every answer (docs/api.md "CORS"): `*`, or the request's origin when it is listed. */
  private corsHeaders(req: http.IncomingMessage, res: http.ServerResponse): void {
    const origin = req.headers.origin;
    if (this.origins === '*') res.setHeader('access-control-allow-origin', '*');
    else {
      res.setHeader('vary', 'Origin');
      if (origin && this.origins.includes(origin)) res.setHeader('access-control-allow-origin', origin);
    }
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
  }

  /**
   * The client's address for the rate limit: the peer, unless the peer is a trusted proxy; then
   * the nearest address in X-Forwarded-For that is not itself a trusted proxy.
   */
  clientAddress(req: http.IncomingMessage): string {
    const peer = plainIp(req.socket.remoteAddress ?? 'unknown');
    if (!this.isTrusted(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((h) => plainIp(h.trim()))
      .filter((h) => isIP(h) !== 0);
    for (let i = hops.length - 1; i >= 0; i--) if (!this.isTrusted(hops[i]!)) return hops[i]!;
    return hops[0] ?? peer;
  }

  private isTrusted(ip: string): boolean {
    const family = isIP(ip);
    return family !== 0 && this.trusted.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  }

  private async submit(ctx: RequestContext): Promise<{ status: number; body: unknown }> {
    const { req, res } = ctx;
    if (!isJsonContentType(req.headers['content-type'])) {
      throw new HttpError(
        415,
        `content type ${req.headers['content-type']} is not supported; send application/json`,
      );
    }
    const text = await readBody(req, MAX_BODY_BYTES);
    const v = validateSubmission(text, this.opts.defaults);
    if (!v.ok) throw new HttpError(v.status, v.error);
    const decision = await this.enforceRateLimit(req);
    if (decision) {
      res.setHeader('x-ratelimit-limit', String(decision.limit));
      res.setHeader('x-ratelimit-remaining', String(decision.remaining));
    }
    const ch = this.channel;
    if (!ch) throw new HttpError(503, 'queue unavailable: RabbitMQ is not connected', { 'retry-after': '5' });
    const job = { job_id: randomUUID(), ...v.submission };
    ctx.jobId = job.job_id;
    await insertJob(this.db, job);
    try {
      const message = { ...job, request_id: ctx.requestId };
      await publish(ch, Buffer.from(JSON.stringify(message)), job.job_id, 5000);
    } catch (error) {
      // The client gets no job id: the row must not stay QUEUED with nobody to run it.
      await deleteJob(this.db, job.job_id).catch(() => {});
      throw new HttpError(503, `queue unavailable: ${describeError(error)}`, { 'retry-after': '5' });
    }
    return { status: 202, body: { job_id: job.job_id, status: 'QUEUED' } };
  }

  private async enforceRateLimit(req: http.IncomingMessage): Promise<RateDecision | undefined> {
    const ip = this.clientAddress(req);
    const timeoutMs = this.opts.rateLimitTimeoutMs ?? 250;
    let decision: RateDecision;
    try {
      decision = await withTimeout(
        checkRateLimit(this.redis, ip, this.opts.rateLimitPerMinute),
        timeoutMs,
        `Redis did not answer within ${timeoutMs} ms`,
      );
    } catch (error) {
      // Redis down or slow: availability over throttling. Counted, and logged at most every 10 s;
      // /api/v1/health shows the outage.
      this.failOpen.inc();
      if (Date.now() - this.lastFailOpenLog > 10_000) {
        this.lastFailOpenLog = Date.now();
        this.opts.log(
          `api: rate limit not checked (${describeError(error)}); accepting submissions unthrottled`,
        );
      }
      return undefined;
    }
    if (!decision.allowed) {
      throw new HttpError(429, `rate limit of ${decision.limit} submissions per minute exceeded`, {
        'retry-after': String(Math.ceil(decision.retryAfterMs / 1000)),
        'x-ratelimit-limit': String(decision.limit),
        'x-ratelimit-remaining': String(decision.remaining),
      });
    }
    return decision;
  }

  private async getSubmission(id: string): Promise<{ status: number; body: unknown }> {
    if (!UUID.test(id)) throw new HttpError(400, 'job id must be a UUID');
    const job = await getJob(this.db, id);
    if (!job) throw new HttpError(404, `no job ${id}`);
    return { status: 200, body: job };
  }

  /** GET on the stream path without `Upgrade: websocket`: the id is checked all the same. */
  private async streamWithoutUpgrade(ctx: RequestContext): Promise<undefined> {
    await this.getSubmission(ctx.params[0]!);
    throw new HttpError(426, 'this is a WebSocket endpoint: send Upgrade: websocket', {
      upgrade: 'websocket',
      connection: 'Upgrade',
    });
  }

  /**
   * GET /api/v1/submissions/:id/stream with `Upgrade: websocket`: the id is validated before the
   * handshake (400 not a UUID, 404 unknown, 503 database down), then streamJob takes over.
   */
  private async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const requestId = pickRequestId(req.headers['x-request-id']);
    const refuse = (status: number, message: string) => {
      this.requests.inc({ route: 'stream', code: String(status) });
      writeRawJson(socket, status, message, { 'X-Request-ID': requestId });
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '', 'http://api');
    } catch {
      return refuse(400, 'the request target is not a valid URL');
    }
    const m = /^\/api\/v1\/submissions\/([^/]+)\/stream\/?$/.exec(url.pathname);
    if (!m) return refuse(404, `no WebSocket endpoint at ${url.pathname}`);
    if (req.method !== 'GET') return refuse(405, `method ${req.method} is not allowed on ${url.pathname}`);
    const origin = req.headers.origin;
    if (this.origins !== '*' && origin && !this.origins.includes(origin)) {
      return refuse(403, `origin ${origin} is not allowed`);
    }
    const id = safeDecode(m[1]!);
    if (!UUID.test(id)) return refuse(400, 'job id must be a UUID');
    try {
      if (!(await getJob(this.db, id))) return refuse(404, `no job ${id}`);
    } catch (error) {
      if (isDatabaseUnavailable(error)) return refuse(503, `database unavailable: ${describeError(error)}`);
      throw error;
    }
    const extra = (headers: string[]) => headers.push(`X-Request-ID: ${requestId}`);
    // ws emits 'headers' synchronously inside handleUpgrade: the listener is this request's only.
    this.wss.on('headers', extra);
    try {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.openStream(ws, id, requestId));
    } finally {
      this.wss.off('headers', extra);
    }
  }

  private openStream(ws: WebSocket, id: string, requestId: string): void {
    this.requests.inc({ route: 'stream', code: '101' });
    this.streamsOpen.inc();
    this.opts.log(`api: request ${requestId} stream of job ${id} opened`);
    void streamJob(ws, id, {
      db: this.db,
      feed: this.feed,
      pingIntervalMs: this.opts.wsPingIntervalMs ?? 30_000,
      log: this.opts.log,
    }).finally(() => this.streamsOpen.dec());
  }

  private async listLanguages(): Promise<{ status: number; body: unknown }> {
    this.languages ??= languageVersions();
    return { status: 200, body: { languages: await this.languages } };
  }

  private async metrics(res: http.ServerResponse): Promise<undefined> {
    const text = await this.registry.metrics();
    res.writeHead(200, { 'content-type': this.registry.contentType });
    res.end(text);
    return undefined;
  }

  private async health(): Promise<{ status: number; body: unknown }> {
    const check = async (fn: () => Promise<unknown>) => {
      try {
        await withTimeout(fn(), 2000, 'timeout');
        return 'ok';
      } catch (error) {
        return `down: ${describeError(error)}`;
      }
    };
    const [postgres, redis] = await Promise.all([
      check(() => this.db.query('SELECT 1')),
      check(() => this.redis.ping()),
    ]);
    const rabbitmq = this.channel ? 'ok' : 'down: not connected';
    const services = { postgres, rabbitmq, redis };
    const ok = Object.values(services).every((s) => s === 'ok');
    return { status: ok ? 200 : 503, body: { status: ok ? 'ok' : 'degraded', services } };
  }

  async stop(): Promise<void> {
    for (const ws of this.wss.clients) ws.close(1001, 'server shutting down');
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await this.feed.stop();
    this.server?.closeAllConnections();
    await this.amqp.close();
    await this.db.end().catch(() => {});
    this.redis.disconnect();
  }
}

/**
 * Process-level safety net for the API process: an error that escaped every handler is logged and
 * counted, never silent. A rejected promise leaves no broken state behind, so the API keeps
 * serving; an uncaught exception may have, so the process exits 1 for `up` (or any supervisor)
 * to restart it.
 */
export function installProcessHandlers(log: (m: string) => void, server?: ApiServer): void {
  process.on('unhandledRejection', (reason) => {
    server?.unhandled.inc({ kind: 'unhandledRejection' });
    log(`api: unhandled promise rejection (still serving): ${describeError(reason)}`);
  });
  process.on('uncaughtException', (error) => {
    log(`api: uncaught exception, exiting with status 1: ${describeError(error)}\n${error.stack ?? ''}`);
    process.exit(1);
  });
}

function pickRequestId(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given && REQUEST_ID.test(given) ? given : randomUUID();
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) → `10.0.0.1`. */
function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Reads and throws away the rest of a request body, up to `limit` bytes; false when it stopped
 * before the end (the connection must then close after the answer).
 */
function drain(req: http.IncomingMessage, limit: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (req.complete) return resolve(true);
    if (req.destroyed) return resolve(false);
    let size = 0;
    req.removeAllListeners('data');
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        resolve(false);
      }
    });
    req.once('end', () => resolve(true));
    req.once('error', () => resolve(false));
    req.once('close', () => resolve(req.complete));
    req.resume();
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function publish(ch: amqp.ConfirmChannel, body: Buffer, messageId: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no publisher confirm within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      ch.sendToQueue(
        TASK_QUEUE,
        body,
        { persistent: true, contentType: 'application/json', messageId },
        (err) => {
          clearTimeout(timer);
          if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else resolve();
        },
      );
    } catch (error) {
      clearTimeout(timer);
      reject(error);
    }
  });
}
