import os from 'node:os';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { endpoints } from '../services/endpoints.js';
import { type ProcessRecord, readRecord } from '../services/state.js';
import { guideLimits } from '../worker/sandbox/limits.js';
import type { AttackContext, Secret } from './types.js';

/** The stack under audit: where to submit, what must stay secret, what the programs aim at. */
export interface AuditTarget {
  apiUrl: string;
  /** Every password of the stack, from the config and the connection strings in use. */
  secrets: Secret[];
  /** The context without the canaries and the markers (the runner makes those per run). */
  context: Omit<AttackContext, 'canary' | 'markers'>;
  /** Host processes that must survive the suite, from the state dir's pid files. */
  processes: Array<{ name: string; record: ProcessRecord }>;
}

function urlPassword(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gathers the audit's facts from the loaded config and the state dir: the passwords of
 * PostgreSQL, RabbitMQ and Redis (the config's and those inside the URLs in use, which differ when
 * DATABASE_URL and friends point elsewhere), the stack's ports, host paths and the worker's and
 * API's pids. Reads the pid files; starts nothing.
 */
export function auditTarget(loaded: LoadedConfig, apiUrlOverride?: string): AuditTarget {
  const { config } = loaded;
  const urls = endpoints(config);
  const c = config.credentials;
  const secrets: Secret[] = [
    { label: 'PostgreSQL password', value: c.postgres.password },
    { label: 'RabbitMQ password', value: c.rabbitmq.password },
    { label: 'Redis password', value: c.redis.password },
  ];
  for (const [label, url] of [
    ['DATABASE_URL password', urls.databaseUrl],
    ['RABBITMQ_URL password', urls.rabbitmqUrl],
    ['RabbitMQ management password', urls.rabbitmqManagementUrl],
    ['REDIS_URL password', urls.redisUrl],
  ] as const) {
    const value = urlPassword(url);
    if (value !== undefined) secrets.push({ label, value });
  }

  const processes: AuditTarget['processes'] = [];
  for (const name of ['worker', 'api'] as const) {
    const record = readRecord(config.stateDir, name)?.processes.at(-1);
    if (record) processes.push({ name, record });
  }
  const pid = (name: string) => processes.find((p) => p.name === name)?.record.pid;
  const { ports } = config;
  // sentinel-tuning-guide.md "nsjail Sandbox Limits": the python and cpp-run phases share these.
  const guide = guideLimits.python;
  return {
    apiUrl: (apiUrlOverride ?? urls.apiUrl).replace(/\/$/, ''),
    secrets,
    processes,
    context: {
      ports: {
        postgres: ports.postgres,
        redis: ports.redis,
        rabbitmq: ports.rabbitmq,
        rabbitmqManagement: ports.rabbitmqManagement,
        api: ports.api,
        workerMetrics: ports.workerMetrics,
      },
      stateDir: config.stateDir,
      credentialsFile: loaded.credentialsFile,
      configFile: loaded.filePath,
      postgresSocket: path.join(config.stateDir, 'postgres', 'socket', `.s.PGSQL.${ports.postgres}`),
      workerPid: pid('worker'),
      apiPid: pid('api'),
      pidsLimit: guide.pids,
      tmpfsMb: guide.tmpfsMb,
      hostHostname: os.hostname(),
    },
  };
}
