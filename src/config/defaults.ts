import type { Profile, SentinelConfig } from './schema.js';

/** A config with every key optional, at any depth: what a layer (profile, file, env, flags) provides. */
export type ConfigLayer = DeepPartial<SentinelConfig>;
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/**
 * Defaults, each from the guides (sentinel-deployment-guide.md "Configuration Reference",
 * sentinel-tuning-guide.md per section). Passwords are absent on purpose: they are generated per
 * state directory (see credentials.ts) unless the file or the environment gives them.
 */
export const defaults: Omit<SentinelConfig, 'credentials'> & { credentials: ConfigLayer['credentials'] } = {
  profile: 'dev',
  stateDir: '.sentinel',
  portOffset: 0,
  ports: {
    // Deployment guide "Service Endpoints" / "Configuration Reference": 5432, 5672, 15672, 6379, 8080, 9090.
    postgres: 5432,
    rabbitmq: 5672,
    rabbitmqManagement: 15672,
    rabbitmqPrometheus: 15692,
    // Not RabbitMQ's usual 25672 (AMQP + 20000): with `--port-offset 20000` a second
    // stack's AMQP port would land exactly there.
    rabbitmqDist: 5673,
    epmd: 4369,
    redis: 6379,
    api: 8080,
    workerMetrics: 9090,
    // The deployment guide's port-forward puts Prometheus on 9091 (9090 is the worker's metrics).
    prometheus: 9091,
  },
  credentials: {
    postgres: { user: 'sentinel', database: 'sentinel' },
    rabbitmq: { user: 'sentinel', vhost: '/' },
    redis: {},
  },
  postgres: {
    // PostgreSQL's own default; the tuning guide's formula (see `tune pool`) decides real deployments.
    maxConnections: 100,
    superuserReservedConnections: 3,
    sharedBuffers: '128MB',
    runAsUser: 'postgres',
    binDir: '/usr/lib/postgresql/15/bin',
  },
  rabbitmq: {
    // Tuning guide "RabbitMQ > Memory & Disk".
    vmMemoryHighWatermark: 0.6,
    diskFreeLimit: '1GB',
    // RabbitMQ's default consumer_timeout (30 min), checked against prefetch × p99 by `tune check`.
    consumerTimeoutMs: 1_800_000,
    // Tuning guide "KEDA > Calculating Max Workers": channel limit defaults to 2047.
    channelMax: 2047,
    // Bounded redelivery before a message is dead-lettered (quorum queue x-delivery-limit).
    deliveryLimit: 5,
  },
  redis: {
    // Tuning guide "Redis".
    maxmemory: '128mb',
    maxmemoryPolicy: 'allkeys-lru',
    appendonly: true,
  },
  api: {
    replicas: 1,
    // Tuning guide "API Server": API_RATE_LIMIT 100/min, read 10 s, write 30 s, GIN_MODE debug.
    rateLimit: 100,
    readTimeoutMs: 10_000,
    writeTimeoutMs: 30_000,
    ginMode: 'debug',
    // Tuning guide "PostgreSQL Connection Pool > Recommendations": dev 10 per replica.
    poolMaxConns: 10,
    // ceil(max / 4): the guide's example connection string pairs pool_max_conns=20 with
    // pool_min_conns=5 (src/tuners/pg-pool.ts pgxPoolMinConns).
    poolMinConns: 3,
    // docs/api.md "CORS": `*` as upstream; the deployment guide's ingress adds CORS headers for
    // cross-origin frontends ("TLS & Ingress").
    corsOrigin: '*',
    trustedProxies: [],
    wsPingIntervalMs: 30_000,
  },
  worker: {
    replicas: 1,
    // Tuning guide "Worker Service": WORKER_POOL_SIZE 4, prefetch 1, 5000 ms, 262144 KB.
    poolSize: 4,
    prefetch: 1,
    defaultTimeLimitMs: 5000,
    defaultMemoryLimitKb: 262_144,
    sandbox: 'auto',
    nsjailPath: '/usr/bin/nsjail',
    nsjailConfigDir: '/etc/nsjail',
    // The project's own choices (docs/stack.md "Faults"): a database restart here takes several
    // seconds, so infrastructure failures are retried for a minute before a job is given up.
    infraRetryBudgetMs: 60_000,
    reaperIntervalMs: 15_000,
    // Past the job lock's 15 s TTL plus a redelivery's wait for it, so a live retry is never reaped.
    reaperGraceMs: 60_000,
  },
  prometheus: {
    // Opt-in: `up` starts five services unless this is true.
    enabled: false,
    scrapeIntervalSeconds: 5,
  },
  keda: {
    // Tuning guide "KEDA Auto-Scaling > ScaledObject Parameters".
    pollingInterval: 5,
    cooldownPeriod: 60,
    minReplicaCount: 2,
    maxReplicaCount: 50,
    queueLength: 15,
  },
  urls: {},
};

/**
 * Per-profile values (tuning guide "PostgreSQL Connection Pool > Recommendations" and "API Server >
 * Recommendations"; KEDA defaults for prod). Applied over the defaults, under the file.
 */
export const profileDefaults: Record<Profile, ConfigLayer> = {
  dev: {},
  staging: {
    api: { replicas: 2, poolMaxConns: 15, poolMinConns: 4, rateLimit: 500, ginMode: 'release' },
    worker: { replicas: 2 },
  },
  prod: {
    api: { replicas: 3, poolMaxConns: 20, poolMinConns: 5, rateLimit: 1000, ginMode: 'release' },
    worker: { replicas: 2 },
    // API 3 × 20 + KEDA's max workers 50 × 4 + 10 overhead = 270 connections can be open at once
    // (tuning guide "PostgreSQL Connection Pool" and "KEDA > Calculating Max Workers"), rounded up.
    postgres: { maxConnections: 300 },
  },
};
