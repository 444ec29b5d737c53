/**
 * The values `generate k8s` writes into templates/k8s/, each from a tuner for the profile with its
 * reason and source, so the generated YAML can carry a comment next to every tuned number.
 */
import { profileDefaults } from '../config/defaults.js';
import type { Profile } from '../config/schema.js';
import { profileSizing } from '../facts/profiles.js';
import {
  DEFAULT_CONSUMER_TIMEOUT_MS,
  formatByteSize,
  formatCpu,
  formatGoDuration,
  formatMemory,
  formatSource,
  GUIDE_MAXMEMORY,
  type KedaWorkload,
  kedaScaledObject,
  maxConnections,
  PG_DEFAULT_SUPERUSER_RESERVED,
  pgxPoolMaxConns,
  pgxPoolMinConns,
  type Recommendation,
  rabbitDiskFreeLimit,
  rabbitMemoryWatermark,
  rabbitPrefetch,
  recommend,
  redisMaxmemoryPolicy,
  type ScalingRules,
  sources,
  WORKER_DB_CONNECTIONS_PER_REPLICA,
  workerPoolSize,
  workerResources,
} from '../tuners/index.js';

export interface K8sOptions {
  profile: Profile;
  namespace: string;
  workload: KedaWorkload;
  host: string;
  registry: string;
  tag: string;
}

/** One tuned value as shown in the command's table and cited in the YAML. */
export interface TunedValue {
  name: string;
  value: string;
  reason: string;
  source: string;
}

/** API pod resources: the tool's defaults for a Go HTTP server (not from a guide). */
const API_RESOURCES = { requests: { cpu: 250, memory: 256 }, limits: { cpu: 1000, memory: 512 } };
/** Sidecar-free pods that set nothing get these from the LimitRange. */
const LIMITRANGE_DEFAULTS = { requestCpu: 100, requestMemoryMi: 128, limitCpu: 500, limitMemoryMi: 512 };
const MI = 1024 ** 2;

/** A YAML comment line's text: the reason and where it comes from. */
function why<T>(r: Recommendation<T>): string {
  return `${r.reason} (${formatSource(r.source)})`;
}

function flowPolicies(r: ScalingRules): string {
  return `[${r.policies.map((p) => `{type: ${p.type}, value: ${p.value}, periodSeconds: ${p.periodSeconds}}`).join(', ')}]`;
}

export interface K8sValues {
  /** `{{key}}` → text, for the templates. */
  values: Record<string, string>;
  /** The tuned values, for the command's output. */
  tuned: TunedValue[];
}

/** Every value of the templates for one profile. */
export function k8sValues(o: K8sOptions): K8sValues {
  const sizing = profileSizing[o.profile];
  const api = profileDefaults[o.profile].api ?? {};
  const v: Record<string, string> = {};
  const tuned: TunedValue[] = [];
  const put = <T>(key: string, name: string, r: Recommendation<T>, show: (x: T) => string = String) => {
    v[key] = show(r.value);
    v[`${key}_why`] = why(r);
    tuned.push({ name, value: v[key]!, reason: r.reason, source: formatSource(r.source) });
  };

  v.profile = o.profile;
  v.namespace = o.namespace;
  v.host = o.host;
  v.registry = o.registry;
  v.tag = o.tag;
  v.workload = o.workload;

  // Worker: the profile's pod (tuning guide "K8s Resource Requests" limits) → pool → resources.
  const pool = workerPoolSize({
    cpuMillicores: sizing.workerCpuMillicores,
    memoryBytes: sizing.workerMemoryBytes,
  });
  put('worker_pool_size', 'WORKER_POOL_SIZE', pool);
  const res = workerResources(pool.value);
  put('worker_req_cpu', 'worker requests.cpu', res.requestsCpu, formatCpu);
  put('worker_req_mem', 'worker requests.memory', res.requestsMemory, formatMemory);
  put('worker_lim_cpu', 'worker limits.cpu', res.limitsCpu, formatCpu);
  put('worker_lim_mem', 'worker limits.memory', res.limitsMemory, formatMemory);
  put('worker_prefetch', 'WORKER_PREFETCH', rabbitPrefetch({}));

  // KEDA for the workload, maxReplicaCount from the profile.
  const keda = kedaScaledObject(o.workload, { maxReplicaCount: sizing.kedaMaxReplicas });
  keda.maxReplicaCount = recommend(
    sizing.kedaMaxReplicas,
    `${sizing.kedaMaxReplicas} pods (${sizing.kedaMaxReplicasWhy})`,
    sources.kedaParameters,
    { basis: 'guide-default' },
  );
  put('keda_polling', 'KEDA pollingInterval', keda.pollingInterval);
  put('keda_cooldown', 'KEDA cooldownPeriod', keda.cooldownPeriod);
  put('keda_min', 'KEDA minReplicaCount', keda.minReplicaCount);
  put('keda_max', 'KEDA maxReplicaCount', keda.maxReplicaCount);
  put('keda_idle', 'KEDA idleReplicaCount', keda.idleReplicaCount);
  put('keda_value', 'KEDA trigger value', keda.triggerValue);
  put('keda_up_window', 'KEDA scaleUp window', keda.scaleUp, (r) => String(r.stabilizationWindowSeconds));
  v.keda_up_select = keda.scaleUp.value.selectPolicy;
  v.keda_up_policies = flowPolicies(keda.scaleUp.value);
  put('keda_down_window', 'KEDA scaleDown window', keda.scaleDown, (r) =>
    String(r.stabilizationWindowSeconds),
  );
  v.keda_down_select = keda.scaleDown.value.selectPolicy;
  v.keda_down_policies = flowPolicies(keda.scaleDown.value);
  v.keda_trigger_why = why(keda.trigger);
  const workerReplicas = keda.minReplicaCount.value;
  v.worker_replicas = String(workerReplicas);

  // API: the guide's replicas and pool per profile; the HPA (deployment guide "API HPA": 3–10, 70 %).
  const row = pgxPoolMaxConns({ profile: o.profile });
  const apiReplicas = api.replicas ?? 1;
  v.api_replicas = String(apiReplicas);
  v.api_hpa_max = String(sizing.apiHpaMax);
  v.api_hpa_why = sizing.apiHpaWhy;
  tuned.push({
    name: 'api HPA maxReplicas',
    value: v.api_hpa_max,
    reason: sizing.apiHpaWhy,
    source:
      o.profile === 'prod'
        ? formatSource(sources.deployApiHpa)
        : "sentinel-ctl's choice (no guide gives this profile's range)",
  });
  put('api_pool_max', 'api pool_max_conns', row);
  put('api_pool_min', 'api pool_min_conns', pgxPoolMinConns(row.value));
  v.api_rate_limit = String(api.rateLimit ?? 100);
  v.api_gin_mode = api.ginMode ?? 'debug';
  v.api_req_cpu = formatCpu(API_RESOURCES.requests.cpu);
  v.api_req_mem = formatMemory(API_RESOURCES.requests.memory * MI);
  v.api_lim_cpu = formatCpu(API_RESOURCES.limits.cpu);
  v.api_lim_mem = formatMemory(API_RESOURCES.limits.memory * MI);

  // The worker's own pool: what max_connections counts for it (every execution may hold one).
  const workerConns = Math.max(WORKER_DB_CONNECTIONS_PER_REPLICA, pool.value);
  put(
    'worker_pool_max',
    'worker pool_max_conns',
    recommend(
      workerConns,
      `max(2, WORKER_POOL_SIZE ${pool.value}) = ${workerConns}: with KEDA each execution may hold a connection`,
      sources.kedaMaxWorkers,
      { basis: 'guide-formula' },
    ),
  );
  put('worker_pool_min', 'worker pool_min_conns', pgxPoolMinConns(workerConns));

  // max_connections for the peak: the API at its HPA maximum, the workers at KEDA's.
  const maxConn = maxConnections({
    apiReplicas: sizing.apiHpaMax,
    apiPoolMaxConns: row.value,
    workerReplicas,
    keda: { maxReplicaCount: keda.maxReplicaCount.value, workerPoolSize: pool.value },
  });
  maxConn.reason = `API at its HPA maximum: ${maxConn.reason}`;
  put('max_connections', 'max_connections', maxConn);
  v.superuser_reserved = String(PG_DEFAULT_SUPERUSER_RESERVED);
  v.pg_req_cpu = formatCpu(sizing.postgresCpuMillicores / 2);
  v.pg_req_mem = formatMemory(sizing.postgresMemoryBytes / 2);
  v.pg_lim_cpu = formatCpu(sizing.postgresCpuMillicores);
  v.pg_lim_mem = formatMemory(sizing.postgresMemoryBytes);

  // RabbitMQ: the watermark relative to the pod's memory limit, not the node's RAM.
  put('rabbit_watermark', 'vm_memory_high_watermark.relative', rabbitMemoryWatermark());
  put('rabbit_disk', 'disk_free_limit.absolute', rabbitDiskFreeLimit(), (b) => formatByteSize(b, 'rabbitmq'));
  v.rabbit_memory_bytes = String(sizing.rabbitmqMemoryBytes);
  v.rabbit_mem = formatMemory(sizing.rabbitmqMemoryBytes);
  v.rabbit_req_mem = formatMemory(sizing.rabbitmqMemoryBytes / 2);
  v.consumer_timeout = String(DEFAULT_CONSUMER_TIMEOUT_MS);
  v.consumer_timeout_text = formatGoDuration(DEFAULT_CONSUMER_TIMEOUT_MS);

  // Redis: no key count at generation time, so the guide's 128mb (tune redis --live sizes it).
  const maxmemory = recommend(
    GUIDE_MAXMEMORY,
    'the guide default 128mb: no keys measured yet; size it with `sentinel-ctl tune redis --live`',
    sources.redis,
    { basis: 'guide-default' },
  );
  put('redis_maxmemory', 'redis maxmemory', maxmemory, (b) => formatByteSize(b, 'redis'));
  put('redis_policy', 'redis maxmemory-policy', redisMaxmemoryPolicy());
  v.redis_mem = formatMemory(sizing.redisMemoryBytes);

  // The quota holds every pod at its peak plus one surge pod per Deployment, or KEDA and the HPA
  // could not scale to the maxima above.
  const pods: Array<{ n: number; reqCpu: number; reqMem: number; limCpu: number; limMem: number }> = [
    {
      n: sizing.apiHpaMax + 1,
      reqCpu: API_RESOURCES.requests.cpu,
      reqMem: API_RESOURCES.requests.memory * MI,
      limCpu: API_RESOURCES.limits.cpu,
      limMem: API_RESOURCES.limits.memory * MI,
    },
    {
      n: keda.maxReplicaCount.value + 1,
      reqCpu: res.requestsCpu.value,
      reqMem: res.requestsMemory.value,
      limCpu: res.limitsCpu.value,
      limMem: res.limitsMemory.value,
    },
    {
      n: 1,
      reqCpu: sizing.postgresCpuMillicores / 2,
      reqMem: sizing.postgresMemoryBytes / 2,
      limCpu: sizing.postgresCpuMillicores,
      limMem: sizing.postgresMemoryBytes,
    },
    {
      n: 3,
      reqCpu: 250,
      reqMem: sizing.rabbitmqMemoryBytes / 2,
      limCpu: 1000,
      limMem: sizing.rabbitmqMemoryBytes,
    },
    { n: 1, reqCpu: 100, reqMem: sizing.redisMemoryBytes, limCpu: 500, limMem: sizing.redisMemoryBytes },
  ];
  const sum = (f: (p: (typeof pods)[number]) => number) => pods.reduce((a, p) => a + p.n * f(p), 0);
  v.quota_pods = String(sum(() => 1));
  v.quota_req_cpu = formatCpu(sum((p) => p.reqCpu));
  v.quota_req_mem = formatMemory(sum((p) => p.reqMem));
  v.quota_lim_cpu = formatCpu(sum((p) => p.limCpu));
  v.quota_lim_mem = formatMemory(sum((p) => p.limMem));
  v.quota_why = `every pod at its peak + 1 surge pod per Deployment: API ${sizing.apiHpaMax}+1, workers ${keda.maxReplicaCount.value}+1, PostgreSQL 1, RabbitMQ 3, Redis 1`;
  v.rabbit_pvc = o.profile === 'dev' ? '2Gi' : '10Gi';
  v.pg_pvc = o.profile === 'dev' ? '5Gi' : o.profile === 'staging' ? '20Gi' : '50Gi';
  v.redis_pvc = o.profile === 'dev' ? '1Gi' : '5Gi';
  v.quota_pvcs = '5';
  v.lr_max_cpu = formatCpu(
    Math.max(res.limitsCpu.value, sizing.postgresCpuMillicores, API_RESOURCES.limits.cpu, 1000),
  );
  v.lr_max_mem = formatMemory(
    Math.max(
      res.limitsMemory.value,
      sizing.postgresMemoryBytes,
      sizing.rabbitmqMemoryBytes,
      API_RESOURCES.limits.memory * MI,
    ),
  );
  v.lr_default_req_cpu = formatCpu(LIMITRANGE_DEFAULTS.requestCpu);
  v.lr_default_req_mem = formatMemory(LIMITRANGE_DEFAULTS.requestMemoryMi * MI);
  v.lr_default_cpu = formatCpu(LIMITRANGE_DEFAULTS.limitCpu);
  v.lr_default_mem = formatMemory(LIMITRANGE_DEFAULTS.limitMemoryMi * MI);
  return { values: v, tuned };
}
