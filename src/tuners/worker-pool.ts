/**
 * WORKER_POOL_SIZE and the worker pod's resources (sentinel-tuning-guide.md "Worker Service").
 */
import {
  cores,
  coresText,
  GIB,
  MIB,
  num,
  type Recommendation,
  recommend,
  sources,
  type TunerWarning,
} from './types.js';
import { formatCpu, formatMemory } from './units.js';

/** What one worker pod may use (container limits, not the node: see facts.ts `resolveCapacity`). */
export interface WorkerCapacity {
  cpuMillicores: number;
  memoryBytes: number;
}

/** Worker Pool Sizing: each sandbox needs 0.5 GB of RAM at rest ("RAM_GB / 0.5"). */
export const MEMORY_PER_WORKER_FOR_SIZING = GIB / 2;
/** K8s Resource Requests: "1 core per 2 pool workers". */
export const CPU_REQUEST_PER_WORKER_MILLICORES = 500;
/** K8s Resource Requests: "256MB per pool worker + overhead". */
export const MEMORY_REQUEST_PER_WORKER = 256 * MIB;
/** nsjail Sandbox Limits: one sandbox is capped at 1 CPU core (cgroup_cpu_ms_per_sec 1000). */
export const SANDBOX_CPU_MILLICORES = 1000;
/** nsjail Sandbox Limits: the largest sandbox memory limit, C++ compile (512 MB). */
export const SANDBOX_MAX_MEMORY = 512 * MIB;

/**
 * WORKER_POOL_SIZE = min(CPU_CORES, RAM_GB / 0.5), rounded down, at least 1
 * (sentinel-tuning-guide.md "Worker Service > Worker Pool Sizing"). Don't exceed the cores:
 * each sandbox is CPU-bound while it runs, and context switching hurts p99.
 */
export function workerPoolSize(capacity: WorkerCapacity): Recommendation<number> {
  const c = cores(capacity.cpuMillicores);
  const ramGib = capacity.memoryBytes / GIB;
  const byRam = ramGib / 0.5;
  const raw = Math.min(c, byRam);
  const floored = Math.floor(raw);
  const value = Math.max(1, floored);
  let formula = `min(${coresText(c)}, ${num(ramGib)} GiB / 0.5)`;
  if (!Number.isInteger(raw)) formula = `floor(${formula})`;
  if (floored < 1) formula = `max(1, ${formula})`;
  const bound = c < byRam ? 'CPU bounds it' : byRam < c ? 'memory bounds it' : 'CPU and memory agree';
  const warnings: TunerWarning[] = [];
  if (capacity.cpuMillicores < SANDBOX_CPU_MILLICORES) {
    warnings.push({
      code: 'worker-below-one-core',
      message: `The pod has ${formatCpu(capacity.cpuMillicores)} CPU, less than the 1 core one sandbox may use; executions will be throttled.`,
      source: sources.sandboxLimits,
    });
  }
  if (capacity.memoryBytes < MEMORY_PER_WORKER_FOR_SIZING) {
    warnings.push({
      code: 'worker-below-sandbox-memory',
      message: `The pod has ${formatMemory(capacity.memoryBytes)} of memory, less than the 0.5 GiB one worker needs.`,
      source: sources.workerPoolSizing,
    });
  }
  return recommend(value, `${formula} = ${value} (${bound})`, sources.workerPoolSizing, {
    basis: 'guide-formula',
    warnings,
  });
}

export interface WorkerResourceOptions {
  /** Memory of the worker process itself, beyond its sandboxes (measure it: RSS at idle). Default 0. */
  overheadBytes?: number;
  /** The largest memory limit one sandbox may reach. Default 512 MiB (C++ compile). */
  sandboxMaxMemoryBytes?: number;
}

export interface WorkerResources {
  requestsCpu: Recommendation<number>;
  requestsMemory: Recommendation<number>;
  limitsCpu: Recommendation<number>;
  limitsMemory: Recommendation<number>;
}

/**
 * The worker pod's resources for a pool size (sentinel-tuning-guide.md "Worker Service > K8s
 * Resource Requests"): requests 1 core per 2 workers and 256 MB per worker + overhead; limits so that
 * every sandbox can hit its own cap at once: 1 core each and the largest sandbox memory (512 MB, C++
 * compile) each ("nsjail Sandbox Limits"). Pool 2 gives the guide's requests (1 / 512Mi), pool 4
 * (the default WORKER_POOL_SIZE) the guide's limits (4 / 2Gi). CPU in millicores, memory in bytes.
 */
export function workerResources(poolSize: number, options: WorkerResourceOptions = {}): WorkerResources {
  const overhead = options.overheadBytes ?? 0;
  const sandboxMemory = options.sandboxMaxMemoryBytes ?? SANDBOX_MAX_MEMORY;
  const reqCpu = poolSize * CPU_REQUEST_PER_WORKER_MILLICORES;
  const reqMem = poolSize * MEMORY_REQUEST_PER_WORKER + overhead;
  const limCpu = poolSize * SANDBOX_CPU_MILLICORES;
  const limMem = poolSize * sandboxMemory + overhead;
  const over = `${formatMemory(overhead)} overhead`;
  return {
    requestsCpu: recommend(
      reqCpu,
      `${poolSize} workers × 1 core / 2 = ${formatCpu(reqCpu)}`,
      sources.workerResources,
      { basis: 'guide-formula' },
    ),
    requestsMemory: recommend(
      reqMem,
      `${poolSize} workers × 256Mi + ${over} = ${formatMemory(reqMem)}`,
      sources.workerResources,
      { basis: 'guide-formula' },
    ),
    limitsCpu: recommend(
      limCpu,
      `${poolSize} workers × 1 core per sandbox = ${formatCpu(limCpu)}`,
      sources.sandboxLimits,
      { basis: 'guide-formula' },
    ),
    limitsMemory: recommend(
      limMem,
      `${poolSize} workers × ${formatMemory(sandboxMemory)} largest sandbox + ${over} = ${formatMemory(limMem)}`,
      sources.sandboxLimits,
      { basis: 'guide-formula' },
    ),
  };
}
