import { isIP } from 'node:net';
import { z } from 'zod';
import { DURATION_HINT, parseDuration } from '../lib/duration.js';

/**
 * The one schema of `sentinel.config.yaml`. Every key has a default (from the guides, see
 * `defaults.ts`), so the file only holds what differs. Unknown keys are errors: a typo such as
 * `ports.redsi` must not be ignored silently.
 */

const port = z.number().int().min(1).max(65535);
const positiveInt = z.number().int().positive();
/**
 * A duration key (`...Ms`): a number of milliseconds, as the key's name says, or a duration string
 * in the CLI's one syntax (`30s`, `1m30s`, `500ms`; src/lib/duration.ts).
 */
const durationMs = z.union([
  positiveInt,
  z.string().transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: `expected ${DURATION_HINT}, got "${s}"` });
      return z.NEVER;
    }
    return ms;
  }),
]);
/**
 * Sizes are strings in each server's own units so they pass through unchanged: Redis takes
 * b/k/kb/m/mb/g/gb, RabbitMQ also takes KiB/MiB/GiB, PostgreSQL kB/MB/GB/TB.
 */
const byteSize = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb|tb|k|m|g|t|kib|mib|gib|tib)?$/i, 'expected a size such as 128mb or 1GB');
const redisByteSize = z
  .string()
  .regex(/^\d+\s*(b|k|kb|m|mb|g|gb)?$/i, 'expected a Redis size such as 128mb or 1gb');

export const profiles = ['dev', 'staging', 'prod'] as const;
export type Profile = (typeof profiles)[number];

export const serviceNames = ['postgres', 'rabbitmq', 'redis', 'worker', 'api', 'prometheus'] as const;
export type ServiceName = (typeof serviceNames)[number];

export const portsSchema = z.strictObject({
  postgres: port,
  rabbitmq: port,
  rabbitmqManagement: port,
  rabbitmqPrometheus: port,
  rabbitmqDist: port,
  epmd: port,
  redis: port,
  api: port,
  workerMetrics: port,
  prometheus: port,
});
export type Ports = z.infer<typeof portsSchema>;

const secret = z.string().min(1);

export const configSchema = z.strictObject({
  profile: z.enum(profiles),
  stateDir: z.string().min(1),
  portOffset: z.number().int().min(0).max(50_000),
  ports: portsSchema,
  credentials: z.strictObject({
    postgres: z.strictObject({ user: z.string().min(1), password: secret, database: z.string().min(1) }),
    rabbitmq: z.strictObject({ user: z.string().min(1), password: secret, vhost: z.string().min(1) }),
    redis: z.strictObject({ password: secret }),
  }),
  postgres: z.strictObject({
    maxConnections: z.number().int().min(5).max(10_000),
    superuserReservedConnections: z.number().int().min(0).max(100),
    sharedBuffers: byteSize,
    /** The unprivileged account the server runs as when sentinel-ctl runs as root. */
    runAsUser: z.string().min(1),
    binDir: z.string().min(1),
  }),
  rabbitmq: z.strictObject({
    vmMemoryHighWatermark: z.number().gt(0).max(1),
    diskFreeLimit: byteSize,
    consumerTimeoutMs: durationMs,
    channelMax: positiveInt,
    deliveryLimit: positiveInt,
  }),
  redis: z.strictObject({
    maxmemory: redisByteSize,
    maxmemoryPolicy: z.enum([
      'noeviction',
      'allkeys-lru',
      'allkeys-lfu',
      'allkeys-random',
      'volatile-lru',
      'volatile-lfu',
      'volatile-random',
      'volatile-ttl',
    ]),
    appendonly: z.boolean(),
  }),
  api: z.strictObject({
    replicas: positiveInt,
    /** Requests per minute per client IP (API_RATE_LIMIT). */
    rateLimit: positiveInt,
    readTimeoutMs: durationMs,
    writeTimeoutMs: durationMs,
    ginMode: z.enum(['debug', 'release']),
    poolMaxConns: positiveInt,
    poolMinConns: z.number().int().min(0),
    /** Access-Control-Allow-Origin: `*` (upstream's default) or a comma-separated list of origins. */
    corsOrigin: z.string().min(1),
    /** Peers (IPs or CIDRs) whose X-Forwarded-For names the client; nobody else's is believed. */
    trustedProxies: z.array(
      z.string().refine((v) => {
        const [ip = '', bits, more] = v.split('/');
        return isIP(ip) !== 0 && more === undefined && (bits === undefined || /^\d{1,3}$/.test(bits));
      }, 'expected an IP address or a CIDR such as 10.0.0.0/8'),
    ),
    /** WebSocket keep-alive pings on /api/v1/submissions/:id/stream. */
    wsPingIntervalMs: positiveInt,
  }),
  worker: z.strictObject({
    replicas: positiveInt,
    poolSize: positiveInt,
    prefetch: positiveInt,
    defaultTimeLimitMs: z.number().int().min(1).max(10_000),
    defaultMemoryLimitKb: z.number().int().min(1024),
    sandbox: z.enum(['auto', 'nsjail', 'bwrap']),
    nsjailPath: z.string().min(1),
    nsjailConfigDir: z.string().min(1),
    /**
     * How long a job keeps retrying PostgreSQL/Redis failures (exponential backoff with jitter)
     * before its message counts as failed and is dead-lettered. Long enough to ride a restart.
     */
    infraRetryBudgetMs: z.number().int().min(0).max(3_600_000),
    /** How often each worker looks for jobs left non-terminal (lost workers, dead-lettered messages). */
    reaperIntervalMs: z.number().int().min(1000).max(3_600_000),
    /** A RUNNING/COMPILING job with no lock this long past its time limit is failed by the reaper. */
    reaperGraceMs: z.number().int().min(1000).max(3_600_000),
    /** Replace the built-in worker with another Sentinel-compatible binary (argv form). */
    command: z.array(z.string().min(1)).min(1).optional(),
  }),
  /** The optional sixth service: a Prometheus scraping the stack with the guides' alert rules. */
  prometheus: z.strictObject({
    enabled: z.boolean(),
    scrapeIntervalSeconds: z.number().int().min(1).max(300),
  }),
  keda: z.strictObject({
    pollingInterval: positiveInt,
    cooldownPeriod: positiveInt,
    minReplicaCount: z.number().int().min(0),
    maxReplicaCount: positiveInt,
    queueLength: positiveInt,
  }),
  /** Where an existing stack lives; when unset, the local stack's own addresses are used. */
  urls: z.strictObject({
    database: z.string().url().optional(),
    rabbitmq: z.string().url().optional(),
    rabbitmqManagement: z.string().url().optional(),
    redis: z.string().url().optional(),
    api: z.string().url().optional(),
    workerMetrics: z.string().url().optional(),
    prometheus: z.string().url().optional(),
  }),
});

export type SentinelConfig = z.infer<typeof configSchema>;
