import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { ReconnectingAmqp } from '../clients/amqp.js';
import { deleteJob, getJob, insertJob } from '../jobs/repository.js';
import { describeError } from '../lib/errors.js';
import { pgClientUrl } from '../services/endpoints.js';
import { declareTopology, TASK_QUEUE } from '../services/rabbitmq/topology.js';
import { checkRateLimit } from './rate-limit.js';
import { MAX_SOURCE_BYTES, validateSubmission } from './validate.js';

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
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The Sentinel submission API (DESIGN.md "The stack contract"): a job row is written before the
 * message is published with a publisher confirm; when publishing fails the row is removed and the
 * client gets 503, so no row waits QUEUED forever.
 */
export class ApiServer {
  private readonly db: pg.Pool;
  private readonly redis: Redis;
  private readonly amqp: ReconnectingAmqp;
  private channel: amqp.ConfirmChannel | undefined;
  private server: http.Server | undefined;
  private readonly registry = new Registry();
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

  constructor(private readonly opts: ApiOptions) {
    this.db = new pg.Pool({ connectionString: pgClientUrl(opts.databaseUrl), max: opts.poolMaxConns });
    this.db.on('error', (e) => opts.log(`postgres: idle client error: ${describeError(e)}`));
    this.redis = new Redis(opts.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: (n) => Math.min(200 * 2 ** n, 5000),
    });
    this.redis.on('error', () => {});
    this.amqp = new ReconnectingAmqp(opts.rabbitmqUrl, opts.log, 'sentinel-api');
    collectDefaultMetrics({ register: this.registry });
  }

  async start(): Promise<void> {
    this.amqp.on('connected', (conn) => void this.openChannel(conn));
    this.amqp.on('disconnected', () => {
      this.channel = undefined;
    });
    void this.amqp.start();
    await this.redis
      .connect()
      .catch((e) => this.opts.log(`redis: ${describeError(e)}; retrying in the background`));
    this.server = http.createServer((req, res) => void this.route(req, res));
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

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://api');
    let route = 'other';
    let status = 500;
    try {
      let body: unknown;
      if (url.pathname === '/api/v1/submissions' && req.method === 'POST') {
        route = 'submit';
        ({ status, body } = await this.submit(req));
      } else if (url.pathname.startsWith('/api/v1/submissions/') && req.method === 'GET') {
        route = 'get';
        ({ status, body } = await this.getSubmission(url.pathname.slice('/api/v1/submissions/'.length)));
      } else if (url.pathname === '/api/v1/health' && req.method === 'GET') {
        route = 'health';
        ({ status, body } = await this.health());
      } else if (url.pathname === '/metrics' && req.method === 'GET') {
        route = 'metrics';
        status = 200;
        res.setHeader('content-type', this.registry.contentType);
        res.end(await this.registry.metrics());
        return;
      } else {
        throw new HttpError(404, `no route for ${req.method} ${url.pathname}`);
      }
      send(res, status, body);
    } catch (error) {
      if (error instanceof HttpError) {
        status = error.status;
        for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
        send(res, status, { error: error.message });
      } else {
        status = 500;
        this.opts.log(`api: ${req.method} ${url.pathname}: ${describeError(error)}`);
        send(res, 500, { error: 'internal error' });
      }
    } finally {
      this.requests.inc({ route, code: String(status) });
      this.latency.observe({ route }, (performance.now() - started) / 1000);
    }
  }

  private async submit(req: http.IncomingMessage): Promise<{ status: number; body: unknown }> {
    const text = await readBody(req, 2 * MAX_SOURCE_BYTES + 16 * 1024);
    const v = validateSubmission(text, this.opts.defaults);
    if (!v.ok) throw new HttpError(v.status, v.error);
    await this.enforceRateLimit(req);
    const ch = this.channel;
    if (!ch) throw new HttpError(503, 'queue unavailable: RabbitMQ is not connected');
    const job = { job_id: randomUUID(), ...v.submission };
    await insertJob(this.db, job);
    try {
      await publish(ch, Buffer.from(JSON.stringify(job)), job.job_id, 5000);
    } catch (error) {
      // The client gets no job id: the row must not stay QUEUED with nobody to run it.
      await deleteJob(this.db, job.job_id).catch(() => {});
      throw new HttpError(503, `queue unavailable: ${describeError(error)}`);
    }
    return { status: 202, body: { job_id: job.job_id, status: 'QUEUED' } };
  }

  private async enforceRateLimit(req: http.IncomingMessage): Promise<void> {
    const ip = req.socket.remoteAddress ?? 'unknown';
    let decision: Awaited<ReturnType<typeof checkRateLimit>>;
    try {
      decision = await checkRateLimit(this.redis, ip, this.opts.rateLimitPerMinute);
    } catch {
      // Redis down: availability over throttling; /api/v1/health shows the outage.
      return;
    }
    if (!decision.allowed) {
      throw new HttpError(429, `rate limit of ${decision.limit} submissions per minute exceeded`, {
        'retry-after': String(decision.retryAfterSeconds),
      });
    }
  }

  private async getSubmission(id: string): Promise<{ status: number; body: unknown }> {
    if (!UUID.test(id)) throw new HttpError(400, 'job id must be a UUID');
    const job = await getJob(this.db, id);
    if (!job) throw new HttpError(404, `no job ${id}`);
    return { status: 200, body: job };
  }

  private async health(): Promise<{ status: number; body: unknown }> {
    const timeout = <T>(p: Promise<T>) =>
      Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000))]);
    const check = async (fn: () => Promise<unknown>) => {
      try {
        await timeout(fn());
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
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
    await this.amqp.close();
    await this.db.end().catch(() => {});
    this.redis.disconnect();
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `request body is larger than ${Math.round(limit / 1024)} KB`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
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
