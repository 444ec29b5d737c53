import type { SentinelConfig } from '../config/schema.js';
import { endpoints } from '../services/endpoints.js';
import { chooseDriver, type SandboxDriver } from './sandbox/index.js';
import { Worker } from './worker.js';

export interface RunningWorker {
  worker: Worker;
  driver: SandboxDriver;
  warnings: string[];
}

/** Builds and starts the worker from the effective config; the caller stops it on SIGTERM. */
export async function startWorker(config: SentinelConfig, log: (m: string) => void): Promise<RunningWorker> {
  const e = endpoints(config);
  const driver = chooseDriver(config.worker);
  const info = await driver.init();
  log(`worker: sandbox ${info.name} (cgroups ${info.cgroups}), ${driver.slots} slots`);
  for (const w of info.warnings) log(`worker: warning: ${w}`);
  const worker = new Worker({
    databaseUrl: e.databaseUrl,
    rabbitmqUrl: e.rabbitmqUrl,
    redisUrl: e.redisUrl,
    poolSize: config.worker.poolSize,
    prefetch: config.worker.prefetch,
    deliveryLimit: config.rabbitmq.deliveryLimit,
    metricsPort: config.ports.workerMetrics,
    metricsHost: process.env.WORKER_METRICS_HOST ?? '127.0.0.1',
    driver,
    sandboxCgroups: info.cgroups,
    // The longest job: C++ compile (10 s wall) + run (10 s), plus storing the result.
    shutdownGraceMs: 25_000,
    infraRetryBudgetMs: config.worker.infraRetryBudgetMs,
    reaperIntervalMs: config.worker.reaperIntervalMs,
    reaperGraceMs: config.worker.reaperGraceMs,
    log,
  });
  await worker.start();
  return { worker, driver, warnings: info.warnings };
}
