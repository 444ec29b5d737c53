import { existsSync } from 'node:fs';
import type { SentinelConfig } from '../config/schema.js';
import { endpoints } from '../services/endpoints.js';
import { BwrapDriver } from './sandbox/bwrap.js';
import { NsjailDriver } from './sandbox/nsjail.js';
import type { SandboxDriver } from './sandbox/types.js';
import { Worker } from './worker.js';

/**
 * The driver the config asks for (`worker.sandbox`): nsjail in production, bubblewrap where nsjail
 * is not installed (Debian has no nsjail package); `auto` picks nsjail when its binary exists.
 */
export function chooseDriver(config: SentinelConfig, slots: number): SandboxDriver {
  const { sandbox, nsjailPath } = config.worker;
  const useNsjail = sandbox === 'nsjail' || (sandbox === 'auto' && existsSync(nsjailPath));
  return useNsjail ? new NsjailDriver({ slots, nsjailPath }) : new BwrapDriver({ slots });
}

export interface RunningWorker {
  worker: Worker;
  driver: SandboxDriver;
  warnings: string[];
}

/** Builds and starts the worker from the effective config; the caller stops it on SIGTERM. */
export async function startWorker(config: SentinelConfig, log: (m: string) => void): Promise<RunningWorker> {
  const e = endpoints(config);
  const driver = chooseDriver(config, config.worker.poolSize);
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
    // The longest job: C++ compile (10 s wall) + run (10 s), plus storing the result.
    shutdownGraceMs: 25_000,
    log,
  });
  await worker.start();
  return { worker, driver, warnings: info.warnings };
}
