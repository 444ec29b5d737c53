import type { ServiceName } from '../config/schema.js';

export type { ServiceName };

export interface ServicePort {
  /** What the port is for: amqp, management, sql, ... */
  name: string;
  port: number;
}

export type ServiceState = 'running' | 'unhealthy' | 'stopped' | 'stale';

export interface HealthResult {
  ok: boolean;
  /** What was checked, or why it failed, in a few words. */
  detail: string;
  version?: string;
}

export interface ServiceStatus {
  name: ServiceName;
  state: ServiceState;
  pid: number | null;
  ports: ServicePort[];
  healthy: boolean;
  health: string;
  version: string | null;
  startedAt: string | null;
  logFile: string;
  /** Some recorded processes are gone while others live (e.g. RabbitMQ's beam killed, epmd left). */
  partial?: boolean;
}

export interface StartContext {
  signal: AbortSignal;
  /** Progress lines for the user (stderr). */
  progress: (message: string) => void;
}

/**
 * What `up`, `down`, `status`, `logs` and `diagnose` need from any service of the stack:
 * PostgreSQL, RabbitMQ and Redis here, the worker and API alike.
 */
export interface ServiceController {
  readonly name: ServiceName;
  /** Services that must be healthy before this one starts. */
  readonly dependsOn: readonly ServiceName[];
  ports(): ServicePort[];
  /** Absolute paths of the executables start() needs; missing ones are reported before anything starts. */
  requiredBinaries(): string[];
  logFile(): string;
  /** Starts the service and resolves once it is healthy and initialised (schema, queues, ...). */
  start(ctx: StartContext): Promise<void>;
  /** A real check: a query, a PING, an AMQP channel, an HTTP 200. */
  health(timeoutMs?: number): Promise<HealthResult>;
  /** Stops processes of this service that hold its ports without a pid file (see NativeService). */
  reclaimStrays?(progress: (message: string) => void): Promise<void>;
  /** Stops what start() started, gracefully first. Returns how it ended. */
  stop(): Promise<'graceful' | 'killed' | 'not-running'>;
  status(): Promise<ServiceStatus>;
}
