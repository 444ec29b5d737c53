import { parseDuration } from '../lib/duration.js';

/**
 * Environment variables, with the guides' own names first (deployment guide "Configuration
 * Reference", tuning guide tables) and the unprefixed upstream aliases after them. The first name
 * that is set wins.
 */
export interface EnvBinding {
  names: string[];
  path: string;
  kind: 'string' | 'int' | 'number' | 'boolean' | 'duration';
}

export const envBindings: EnvBinding[] = [
  { names: ['SENTINEL_PROFILE'], path: 'profile', kind: 'string' },
  { names: ['SENTINEL_STATE_DIR'], path: 'stateDir', kind: 'string' },
  { names: ['SENTINEL_PORT_OFFSET'], path: 'portOffset', kind: 'int' },
  { names: ['DATABASE_URL'], path: 'urls.database', kind: 'string' },
  { names: ['RABBITMQ_URL'], path: 'urls.rabbitmq', kind: 'string' },
  { names: ['RABBITMQ_MANAGEMENT_URL'], path: 'urls.rabbitmqManagement', kind: 'string' },
  { names: ['REDIS_URL'], path: 'urls.redis', kind: 'string' },
  { names: ['API_URL', 'SENTINEL_API_URL'], path: 'urls.api', kind: 'string' },
  { names: ['WORKER_METRICS_URL'], path: 'urls.workerMetrics', kind: 'string' },
  { names: ['PROMETHEUS_URL'], path: 'urls.prometheus', kind: 'string' },
  { names: ['API_PORT'], path: 'ports.api', kind: 'int' },
  { names: ['API_RATE_LIMIT', 'RATE_LIMIT'], path: 'api.rateLimit', kind: 'int' },
  { names: ['API_READ_TIMEOUT', 'READ_TIMEOUT'], path: 'api.readTimeoutMs', kind: 'duration' },
  { names: ['API_WRITE_TIMEOUT', 'WRITE_TIMEOUT'], path: 'api.writeTimeoutMs', kind: 'duration' },
  { names: ['GIN_MODE'], path: 'api.ginMode', kind: 'string' },
  { names: ['API_CORS_ORIGIN', 'CORS_ORIGIN'], path: 'api.corsOrigin', kind: 'string' },
  { names: ['WORKER_POOL_SIZE', 'POOL_SIZE'], path: 'worker.poolSize', kind: 'int' },
  { names: ['WORKER_PREFETCH'], path: 'worker.prefetch', kind: 'int' },
  { names: ['WORKER_METRICS_PORT', 'METRICS_PORT'], path: 'ports.workerMetrics', kind: 'int' },
  {
    names: ['WORKER_DEFAULT_TIME_LIMIT_MS', 'DEFAULT_TIME_LIMIT_MS'],
    path: 'worker.defaultTimeLimitMs',
    kind: 'int',
  },
  {
    names: ['WORKER_DEFAULT_MEMORY_LIMIT_KB', 'DEFAULT_MEMORY_LIMIT_KB'],
    path: 'worker.defaultMemoryLimitKb',
    kind: 'int',
  },
  { names: ['WORKER_SANDBOX'], path: 'worker.sandbox', kind: 'string' },
  { names: ['WORKER_INFRA_RETRY_BUDGET_MS'], path: 'worker.infraRetryBudgetMs', kind: 'int' },
  { names: ['WORKER_REAPER_INTERVAL_MS'], path: 'worker.reaperIntervalMs', kind: 'int' },
  { names: ['WORKER_REAPER_GRACE_MS'], path: 'worker.reaperGraceMs', kind: 'int' },
  { names: ['NSJAIL_PATH'], path: 'worker.nsjailPath', kind: 'string' },
  { names: ['NSJAIL_CONFIG_DIR'], path: 'worker.nsjailConfigDir', kind: 'string' },
  { names: ['POSTGRES_PASSWORD'], path: 'credentials.postgres.password', kind: 'string' },
  { names: ['RABBITMQ_PASSWORD'], path: 'credentials.rabbitmq.password', kind: 'string' },
  { names: ['REDIS_PASSWORD'], path: 'credentials.redis.password', kind: 'string' },
];

/** Converts one environment string to the binding's type; `undefined` means it is not valid. */
export function coerceEnv(kind: EnvBinding['kind'], raw: string): string | number | boolean | undefined {
  switch (kind) {
    case 'string':
      return raw;
    case 'int':
      return /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : undefined;
    case 'number':
      return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : undefined;
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      return undefined;
    case 'duration':
      return parseDuration(raw);
  }
}
