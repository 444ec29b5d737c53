/**
 * `diagnose --k8s`, the data plane: the local diagnose collectors and rules (src/diagnose) run on
 * the cluster's own services. HTTP endpoints are read through the API server's service proxy with
 * the context's credentials (so every kubeconfig and the in-cluster service account work, and no
 * port is opened): RabbitMQ's Prometheus endpoint (Service rabbitmq, port `prometheus`), the
 * worker's /metrics (Service worker-metrics, port `metrics`) and the API's health and /metrics
 * (Service api, port `http`). PostgreSQL and Redis speak their own protocols, which the service
 * proxy does not carry: they are read only through explicit --database-url / --redis-url (for
 * instance after `kubectl port-forward`; docs/k8s.md "Data plane").
 *
 * Findings carry the Kubernetes object they are about (Service, and the workload behind it).
 */

import { defaults } from '../config/defaults.js';
import { DiagnoseSession, diagnoseOnce, poolMaxConnsOf, type Targets } from '../diagnose/session.js';
import type { ComponentName, DiagnoseReport, Finding } from '../diagnose/types.js';
import { type Cluster, isNotFound, type K8sObject } from './client.js';
import type { K8sFinding } from './diagnose.js';

/** The Services (and their port names) `generate k8s` writes for the HTTP endpoints. */
export const DATA_PLANE_SERVICES = {
  rabbitmq: { service: 'rabbitmq', port: 'prometheus', workload: 'StatefulSet/rabbitmq' },
  worker: { service: 'worker-metrics', port: 'metrics', workload: 'Deployment/worker' },
  api: { service: 'api', port: 'http', workload: 'Deployment/api' },
} as const;

export interface DataPlaneOptions {
  databaseUrl?: string;
  redisUrl?: string;
  /** Only these components (all that can be reached when absent). */
  components?: readonly ComponentName[];
  sampleIntervalMs: number;
  timeoutMs: number;
}

export interface DataPlaneResult {
  findings: K8sFinding[];
  /** What each component was read from, or why it was not. */
  components: Record<string, { ok: boolean; target: string; error?: string; notes?: string[] }>;
  /** The local diagnose report computed from the cluster's data (facts included). */
  report: DiagnoseReport;
}

type Workload = K8sObject & { spec?: { replicas?: number } };

/** The deployment the rules measure against, from the live objects (defaults where they are absent). */
async function deploymentFromCluster(cluster: Cluster, namespace: string) {
  const get = async <T>(apiVersion: string, kind: string, name: string): Promise<T | undefined> => {
    try {
      return await cluster.get<T>({ apiVersion, kind, namespace, name });
    } catch (error) {
      // Not allowed (a role without Secrets) or not served: fall back to the defaults.
      if (isNotFound(error) || (error as { status?: number }).status === 403) return undefined;
      throw cluster.explain(error, `read ${kind}/${name} in ${namespace}`);
    }
  };
  const [api, worker, workerConfig, apiSecrets] = await Promise.all([
    get<Workload>('apps/v1', 'Deployment', 'api'),
    get<Workload>('apps/v1', 'Deployment', 'worker'),
    get<K8sObject & { data?: Record<string, string> }>('v1', 'ConfigMap', 'worker-config'),
    get<K8sObject & { data?: Record<string, string> }>('v1', 'Secret', 'api-secrets'),
  ]);
  const dbUrl = apiSecrets?.data?.DATABASE_URL
    ? Buffer.from(apiSecrets.data.DATABASE_URL, 'base64').toString('utf8')
    : '';
  const poolSize = Number(workerConfig?.data?.WORKER_POOL_SIZE);
  return {
    apiReplicas: api?.spec?.replicas ?? defaults.api.replicas,
    poolMaxConns: poolMaxConnsOf(dbUrl) ?? defaults.api.poolMaxConns,
    workerReplicas: worker?.spec?.replicas ?? defaults.worker.replicas,
    workerPoolSize: Number.isFinite(poolSize) && poolSize > 0 ? poolSize : defaults.worker.poolSize,
  };
}

/** The object a data-plane finding is about. */
export function objectOf(component: ComponentName, namespace: string): string {
  if (component === 'postgres') return `StatefulSet/postgres (via --database-url)`;
  if (component === 'redis') return `StatefulSet/redis (via --redis-url)`;
  if (component === 'host') return 'this machine';
  const s = DATA_PLANE_SERVICES[component];
  return `Service/${s.service} → ${s.workload} (${namespace})`;
}

export function toK8sFinding(f: Finding, namespace: string): K8sFinding {
  return {
    id: f.id,
    severity: f.severity,
    object: objectOf(f.component, namespace),
    title: f.title,
    detail: f.detail,
    // The local-stack command (`sentinel-ctl status`…) does not apply to a cluster: the fix text does.
    fix: f.fix,
    source: f.source,
  };
}

/** Hint for a database the proxy cannot carry. */
export function portForwardHint(namespace: string, service: 'postgres' | 'redis'): string {
  const port = service === 'postgres' ? 5432 : 6379;
  const flag =
    service === 'postgres'
      ? '--database-url postgres://USER:PASS@127.0.0.1:5432/sentinel'
      : '--redis-url redis://:PASS@127.0.0.1:6379/0';
  return `not read: the service proxy carries HTTP only; run \`kubectl port-forward -n ${namespace} svc/${service} ${port}:${port}\` and pass ${flag}`;
}

/** The local diagnose session over the cluster's data plane (the components it can reach). */
export async function dataPlaneSession(
  cluster: Cluster,
  namespace: string,
  o: Omit<DataPlaneOptions, 'sampleIntervalMs'>,
): Promise<{ session: DiagnoseSession; components: ComponentName[] }> {
  const url = (c: keyof typeof DATA_PLANE_SERVICES) =>
    cluster.serviceProxyUrl(namespace, DATA_PLANE_SERVICES[c].service, DATA_PLANE_SERVICES[c].port);
  const targets: Targets = {
    databaseUrl: o.databaseUrl ?? '',
    redisUrl: o.redisUrl ?? '',
    // AMQP is not HTTP: the broker is read through its Prometheus endpoint only.
    rabbitmqUrl: '',
    rabbitmqManagementUrl: '',
    rabbitmqPrometheusUrl: url('rabbitmq'),
    workerMetricsUrl: `${url('worker')}/metrics`,
    apiUrl: url('api'),
  };
  const reachable: ComponentName[] = ['rabbitmq', 'worker', 'api'];
  if (o.databaseUrl) reachable.push('postgres');
  if (o.redisUrl) reachable.push('redis');
  const components = reachable.filter((c) => !o.components || o.components.includes(c));
  const session = new DiagnoseSession(targets, await deploymentFromCluster(cluster, namespace), {
    timeoutMs: o.timeoutMs,
    components,
    fetch: cluster.fetch(),
  });
  return { session, components };
}

export async function diagnoseDataPlane(
  cluster: Cluster,
  namespace: string,
  o: DataPlaneOptions,
): Promise<DataPlaneResult> {
  const { session, components } = await dataPlaneSession(cluster, namespace, o);
  let report: DiagnoseReport;
  try {
    report = await diagnoseOnce(session, { sampleIntervalMs: o.sampleIntervalMs });
  } finally {
    await session.close();
  }
  const out: DataPlaneResult['components'] = {};
  for (const c of ['rabbitmq', 'worker', 'api', 'postgres', 'redis'] as const) {
    const r = report.facts[c];
    if (components.includes(c)) {
      out[c] = r.ok
        ? { ok: true, target: r.target, ...(r.notes.length ? { notes: r.notes } : {}) }
        : { ok: false, target: r.target, error: r.error };
    } else if (c === 'postgres' || c === 'redis') {
      if (!o.components || o.components.includes(c)) {
        out[c] = { ok: false, target: '-', error: portForwardHint(namespace, c) };
      }
    }
  }
  return {
    findings: report.findings.map((f) => toK8sFinding(f, namespace)),
    components: out,
    report,
  };
}
