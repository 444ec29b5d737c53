/**
 * Facts: what the tuners and `tune check` know about a deployment, each value with where it came
 * from, so the output can say "2 cores (cgroup cpu.max)" rather than a bare number.
 *
 * Collectors (flags, host, cgroup files, manifests, the live stack) fill a `TuningFacts`; every field
 * is optional because every source is. Units are the tuners' base units: bytes, millicores, ms.
 */
import type { CgroupLimit } from './cgroup.js';
import { formatCpu, formatMemory } from './units.js';

/** `k8s`: a live object of the cluster (`tune --k8s`), read as a manifest. */
export type FactOrigin = 'flag' | 'host' | 'cgroup' | 'manifest' | 'k8s' | 'live' | 'profile' | 'default';

export interface Fact<T> {
  value: T;
  from: FactOrigin;
  /** The flag, file, object or query the value came from: `--cpus`, `cpu.max`, `worker.yaml: Deployment/worker`. */
  detail: string;
}

/** Builds a fact. */
export function fact<T>(value: T, from: FactOrigin, detail: string): Fact<T> {
  return { value, from, detail };
}

/** The value of an optional fact. */
export function factValue<T>(f: Fact<T> | undefined): T | undefined {
  return f?.value;
}

/** "2 (cgroup: cpu.max)" — a fact as shown beside a recommendation. */
export function describeFact<T>(f: Fact<T>, show: (v: T) => string = String): string {
  return `${show(f.value)} (${f.from}: ${f.detail})`;
}

export type DiskKind = 'ssd' | 'hdd';
export type KedaTriggerProtocol = 'amqp' | 'http' | 'auto';
export type KedaTriggerMode = 'QueueLength' | 'MessageRate';

/** Execution times of the worker (from the duration histogram or a bench), in ms. */
export interface ExecutionStats {
  p50Ms: number;
  p99Ms: number;
  /** How many executions the numbers rest on; small samples make the percentiles shaky. */
  count?: number;
}

export interface TuningFacts {
  worker?: {
    /** CPU the worker pod may use (resolved by `resolveCapacity`: container before host). */
    cpuMillicores?: Fact<number>;
    memoryBytes?: Fact<number>;
    replicas?: Fact<number>;
    poolSize?: Fact<number>;
    prefetch?: Fact<number>;
    requests?: { cpuMillicores?: Fact<number>; memoryBytes?: Fact<number> };
    limits?: { cpuMillicores?: Fact<number>; memoryBytes?: Fact<number> };
    /** PostgreSQL connections each worker replica holds (the guide counts 2). */
    dbConnectionsPerReplica?: Fact<number>;
  };
  api?: {
    replicas?: Fact<number>;
    /** The API HorizontalPodAutoscaler's maxReplicas: the replicas at the peak. */
    hpaMaxReplicas?: Fact<number>;
    /**
     * pool_max_conns in DATABASE_URL; `null` when the URL was read and sets none (pgx's default
     * max(4, NumCPU) applies), absent when the URL is unknown.
     */
    poolMaxConns?: Fact<number | null>;
    poolMinConns?: Fact<number>;
    /** CPUs the Go runtime sees in the API pod (runtime.NumCPU: the node's, unless pinned). */
    numCpu?: Fact<number>;
    writeTimeoutMs?: Fact<number>;
    /** API_RATE_LIMIT: requests per minute per client IP. */
    rateLimitPerMinute?: Fact<number>;
  };
  postgres?: {
    maxConnections?: Fact<number>;
    superuserReservedConnections?: Fact<number>;
    /** PostgreSQL 16+ `reserved_connections` (for pg_use_reserved_connections roles). */
    reservedConnections?: Fact<number>;
    cores?: Fact<number>;
    disk?: Fact<DiskKind>;
    spindles?: Fact<number>;
  };
  rabbitmq?: {
    consumerTimeoutMs?: Fact<number>;
    channelMax?: Fact<number>;
    vmMemoryHighWatermark?: Fact<number>;
    diskFreeLimitBytes?: Fact<number>;
  };
  redis?: {
    maxmemoryBytes?: Fact<number>;
    maxmemoryPolicy?: Fact<string>;
    keys?: Fact<number>;
    bytesPerKey?: Fact<number>;
    usedMemoryBytes?: Fact<number>;
  };
  keda?: {
    pollingInterval?: Fact<number>;
    cooldownPeriod?: Fact<number>;
    minReplicaCount?: Fact<number>;
    maxReplicaCount?: Fact<number>;
    triggerValue?: Fact<number>;
    protocol?: Fact<KedaTriggerProtocol>;
    mode?: Fact<KedaTriggerMode>;
    /** The trigger's host URL scheme, which decides the protocol when `protocol` is auto. */
    hostScheme?: Fact<string>;
  };
  execution?: Fact<ExecutionStats>;
  /** The longest response stream the API writes (WebSocket / long poll), in ms. */
  longestStreamMs?: Fact<number>;
  bench?: {
    /** Requests per second the bench sends. */
    requestsPerSecond?: Fact<number>;
    /** Distinct client IPs it sends them from (a local bench is 1). */
    clientIps?: Fact<number>;
  };
}

/** One candidate source of a pod's CPU or memory. `undefined` fields are absent sources. */
export interface CapacityCandidates {
  /** An explicit `--cpus` / `--memory`. */
  flag?: number;
  /** The pod spec's `resources.limits` (from manifests). */
  manifestLimit?: number;
  /** The pod spec's `resources.requests`, used only when there is no limit. */
  manifestRequest?: number;
  /** Where the manifest values came from, e.g. `worker.yaml: Deployment/worker`. */
  manifestDetail?: string;
  /**
   * With --k8s, when the pod sets neither limit nor request: the smallest node's allocatable (the
   * pod may be scheduled on any node), instead of the machine sentinel-ctl runs on.
   */
  node?: number;
  nodeDetail?: string;
  /** The cgroup of the process collecting facts (parsed with cgroup.ts). */
  cgroup?: CgroupLimit;
  cgroupDetail?: string;
  /** The host total (os.cpus().length × 1000, os.totalmem()). */
  host?: number;
  hostDetail?: string;
}

export interface ResolvedCapacity {
  fact?: Fact<number>;
  /** Sources that disagree with the chosen one by more than they should, as notes for the user. */
  notes: string[];
}

/**
 * Picks the CPU (millicores) or memory (bytes) a workload really has: an explicit flag, then the
 * pod's limit (or request when it has no limit), then (with --k8s) the smallest node's
 * allocatable, then the container's cgroup limit, and only then the host total. A tuner that sizes for the node instead of the pod is wrong (docs/design.md "Tuners").
 * A cgroup "max" counts as no limit and falls through to the host; a cgroup limit above the host
 * total cannot be used either, so the smaller wins.
 */
export function resolveCapacity(resource: 'cpu' | 'memory', c: CapacityCandidates): ResolvedCapacity {
  const show = resource === 'cpu' ? formatCpu : formatMemory;
  const notes: string[] = [];
  const flagName = resource === 'cpu' ? '--cpus' : '--memory';
  const cgroupLimit = c.cgroup?.kind === 'limit' ? c.cgroup.value : undefined;
  const cgroupDetail = c.cgroupDetail ?? (resource === 'cpu' ? 'cpu.max' : 'memory.max');
  const manifestDetail = c.manifestDetail ?? 'manifest';

  if (c.flag !== undefined) {
    const container = c.manifestLimit ?? cgroupLimit;
    if (container !== undefined && c.flag > container) {
      notes.push(
        `${flagName} ${show(c.flag)} is more than the container limit ${show(container)}; ` +
          `the pool will be sized for ${show(c.flag)} as asked.`,
      );
    }
    return { fact: { value: c.flag, from: 'flag', detail: flagName }, notes };
  }
  if (c.manifestLimit !== undefined) {
    return {
      fact: {
        value: c.manifestLimit,
        from: 'manifest',
        detail: `${manifestDetail} resources.limits.${resource}`,
      },
      notes,
    };
  }
  if (c.manifestRequest !== undefined) {
    notes.push(
      `${manifestDetail} sets no ${resource} limit; sized for its request ${show(c.manifestRequest)}, ` +
        'the only amount the scheduler guarantees.',
    );
    return {
      fact: {
        value: c.manifestRequest,
        from: 'manifest',
        detail: `${manifestDetail} resources.requests.${resource}`,
      },
      notes,
    };
  }
  if (c.node !== undefined) {
    notes.push(
      `${manifestDetail} sets no ${resource} limit or request; sized for the smallest node's allocatable ` +
        `${resource} ${show(c.node)} (its pods may run on any node, and share it); set resources for a pool that fits the pod.`,
    );
    return { fact: { value: c.node, from: 'k8s', detail: c.nodeDetail ?? 'node allocatable' }, notes };
  }
  if (cgroupLimit !== undefined) {
    if (c.host !== undefined && c.host < cgroupLimit) {
      return {
        fact: { value: c.host, from: 'host', detail: `${c.hostDetail ?? 'host'} (below the cgroup limit)` },
        notes,
      };
    }
    return { fact: { value: cgroupLimit, from: 'cgroup', detail: cgroupDetail }, notes };
  }
  if (c.host !== undefined) {
    const detail = c.hostDetail ?? 'host';
    if (c.cgroup?.kind === 'unlimited')
      notes.push(`${cgroupDetail} is "max": no container limit, using the host total.`);
    return { fact: { value: c.host, from: 'host', detail }, notes };
  }
  return { notes };
}
