import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The worker's Prometheus metrics, with the contract's names (docs/design.md "The stack contract")
 * plus Node.js process metrics. The deployment guide's alerts read these: SentinelWorkerDown
 * (active workers < 1), SentinelHighErrorRate, SentinelSandboxFailures.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly executions = new Counter({
    name: 'sentinel_executions_total',
    help: 'Executions finished, by language and terminal status.',
    labelNames: ['language', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'sentinel_execution_duration_seconds',
    help: 'Time from taking a job to storing its result, by language.',
    labelNames: ['language'] as const,
    // Python print ≈ 0.05 s … C++ compile + 10 s run.
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30],
    registers: [this.registry],
  });
  readonly workersActive = new Gauge({
    name: 'sentinel_workers_active',
    help: 'Pool workers with a live consumer (WORKER_POOL_SIZE when healthy).',
    registers: [this.registry],
  });
  readonly poolSize = new Gauge({
    name: 'sentinel_worker_pool_size',
    help: 'Configured WORKER_POOL_SIZE.',
    registers: [this.registry],
  });
  readonly inProgress = new Gauge({
    name: 'sentinel_executions_in_progress',
    help: 'Executions running in a sandbox right now.',
    registers: [this.registry],
  });
  readonly sandboxFailures = new Counter({
    name: 'sentinel_sandbox_failures_total',
    help: 'Sandboxes that could not start or broke (INTERNAL_ERROR not caused by the program).',
    registers: [this.registry],
  });
  /** Which sandbox driver runs the programs (README "Sandbox drivers"): always 1, the facts are labels. */
  readonly sandboxInfo = new Gauge({
    name: 'sentinel_sandbox_info',
    help: 'The sandbox driver in use (nsjail or bwrap) and its cgroup mode (v1, v2, none); value 1.',
    labelNames: ['driver', 'cgroups'] as const,
    registers: [this.registry],
  });
  readonly deadLettered = new Counter({
    name: 'sentinel_messages_dead_lettered_total',
    help: 'Messages rejected to the dead-letter queue, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly infraRetries = new Counter({
    name: 'sentinel_infrastructure_retries_total',
    help: 'PostgreSQL/Redis operations retried with backoff (a database restart shows up here).',
    registers: [this.registry],
  });
  readonly reaped = new Counter({
    name: 'sentinel_jobs_reaped_total',
    help: 'Jobs left RUNNING/COMPILING with no live worker that the reaper marked INTERNAL_ERROR.',
    registers: [this.registry],
  });
  readonly deadLetterDepth = new Gauge({
    name: 'sentinel_dead_letter_queue_messages',
    help: 'Messages in the dead-letter queue, read by the reaper (the broker dead-letters some itself).',
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: 'sentinel_duplicate_deliveries_total',
    help: 'Deliveries of jobs that already had a result or were running elsewhere (not run again).',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
