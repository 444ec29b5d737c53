import type { SentinelConfig } from '../config/schema.js';

/**
 * The connection strings of a stack, in the guides' forms (deployment guide "Secrets
 * Management"): the configured URLs when given, else the local stack's own addresses.
 */
export interface Endpoints {
  databaseUrl: string;
  rabbitmqUrl: string;
  rabbitmqManagementUrl: string;
  redisUrl: string;
  apiUrl: string;
  workerMetricsUrl: string;
}

const enc = encodeURIComponent;

export function localEndpoints(config: SentinelConfig): Endpoints {
  const { ports, credentials: c, api } = config;
  const vhost = c.rabbitmq.vhost === '/' ? '%2F' : enc(c.rabbitmq.vhost);
  return {
    databaseUrl: `postgres://${enc(c.postgres.user)}:${enc(c.postgres.password)}@127.0.0.1:${ports.postgres}/${enc(c.postgres.database)}?sslmode=disable&pool_max_conns=${api.poolMaxConns}&pool_min_conns=${api.poolMinConns}`,
    rabbitmqUrl: `amqp://${enc(c.rabbitmq.user)}:${enc(c.rabbitmq.password)}@127.0.0.1:${ports.rabbitmq}/${vhost}`,
    rabbitmqManagementUrl: `http://${enc(c.rabbitmq.user)}:${enc(c.rabbitmq.password)}@127.0.0.1:${ports.rabbitmqManagement}`,
    redisUrl: `redis://:${enc(c.redis.password)}@127.0.0.1:${ports.redis}/0`,
    apiUrl: `http://127.0.0.1:${ports.api}`,
    workerMetricsUrl: `http://127.0.0.1:${ports.workerMetrics}/metrics`,
  };
}

/** Endpoints to talk to: configured URLs (DATABASE_URL, ...) win over the local stack's. */
export function endpoints(config: SentinelConfig): Endpoints {
  const local = localEndpoints(config);
  const u = config.urls;
  return {
    databaseUrl: u.database ?? local.databaseUrl,
    rabbitmqUrl: u.rabbitmq ?? local.rabbitmqUrl,
    rabbitmqManagementUrl: u.rabbitmqManagement ?? local.rabbitmqManagementUrl,
    redisUrl: u.redis ?? local.redisUrl,
    apiUrl: u.api ?? local.apiUrl,
    workerMetricsUrl: u.workerMetrics ?? local.workerMetricsUrl,
  };
}

/**
 * node-postgres does not know pgx's pool_* parameters; strip them (and keep everything else) so
 * one DATABASE_URL serves both.
 */
export function pgClientUrl(databaseUrl: string): string {
  const [base, query] = databaseUrl.split('?', 2);
  if (!query) return databaseUrl;
  const kept = query.split('&').filter((kv) => !/^pool_/.test(kv));
  return kept.length ? `${base}?${kept.join('&')}` : base!;
}
