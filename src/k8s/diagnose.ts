/**
 * `diagnose --k8s`: the control-plane view of the stack on a cluster. One collection of the
 * namespace's pods, workloads, HPAs, KEDA ScaledObjects, the worker ConfigMap and warning events,
 * then rules from the guides' troubleshooting and scaling sections: OOMKilled (memory limit against
 * the pool's sandboxes), CrashLoopBackOff, image pulls, Pending with the scheduler's reason, restarts,
 * a rollout past its deadline, an HPA or a ScaledObject at its maximum, ScaledObject conditions, and
 * the warning events. Read-only: the sentinel-ctl-read role is enough.
 *
 * The data plane (RabbitMQ queue depth, worker /metrics) is not read here yet: the local `diagnose`
 * does that with explicit URLs.
 */

import { parseQuantity } from '../manifests/index.js';
import type { Source } from '../tuners/types.js';
import { type Cluster, K8sApiError, type K8sObject } from './client.js';
import {
  type Condition as Cond,
  type Event,
  oomKilled,
  type Pod,
  schedulingReason,
  unschedulable,
} from './pod-status.js';

export type K8sSeverity = 'info' | 'warning' | 'critical';

export interface K8sFinding {
  id: string;
  severity: K8sSeverity;
  /** Kind/name of the object the finding is about. */
  object: string;
  title: string;
  detail: string;
  fix: string;
  source: Source;
}

export interface K8sDiagnoseReport {
  context: string;
  server: string;
  namespace: string;
  at: string;
  healthy: boolean;
  counts: Record<K8sSeverity, number>;
  findings: K8sFinding[];
  /** What was read, counted. */
  facts: {
    pods: number;
    deployments: number;
    statefulsets: number;
    hpas: number;
    scaledObjects: number;
    warningEvents: number;
  };
  /** Kinds the cluster does not serve or the user may not list (reported, not fatal). */
  skipped: string[];
  ms: number;
}

const DEPLOY_GUIDE = 'sentinel-deployment-guide.md';
const TUNING_GUIDE = 'sentinel-tuning-guide.md';
const PODS_NOT_STARTING: Source = { guide: DEPLOY_GUIDE, section: 'Troubleshooting > Pods Not Starting' };

interface Workload extends K8sObject {
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  status?: { replicas?: number; readyReplicas?: number; conditions?: Cond[] };
}
interface Hpa extends K8sObject {
  spec?: { maxReplicas?: number; minReplicas?: number; scaleTargetRef?: { kind?: string; name?: string } };
  status?: { currentReplicas?: number; desiredReplicas?: number; conditions?: Cond[] };
}
interface ScaledObject extends K8sObject {
  spec?: {
    maxReplicaCount?: number;
    minReplicaCount?: number;
    scaleTargetRef?: { kind?: string; name?: string };
  };
  status?: { conditions?: Cond[] };
}

async function listOrSkip<T>(
  cluster: Cluster,
  apiVersion: string,
  kind: string,
  ns: string,
  skipped: string[],
  query: Record<string, string> = {},
): Promise<T[]> {
  try {
    return await cluster.list<T>(apiVersion, kind, ns, query);
  } catch (error) {
    if (error instanceof K8sApiError && (error.status === 403 || error.status === 404)) {
      skipped.push(`${kind} (${error.status === 403 ? 'not allowed to list' : 'not served'})`);
      return [];
    }
    if ((error as { code?: string }).code === 'KIND_UNKNOWN') {
      skipped.push(`${kind} (not served: ${apiVersion})`);
      return [];
    }
    throw cluster.explain(error, `list ${kind} in ${ns}`);
  }
}

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)}Mi`;

function ownerApp(p: Pod): string {
  return p.metadata.labels?.app ?? p.metadata.labels?.['app.kubernetes.io/name'] ?? p.metadata.name;
}

export async function diagnoseK8s(cluster: Cluster, namespace: string): Promise<K8sDiagnoseReport> {
  const started = performance.now();
  const skipped: string[] = [];
  const [pods, deployments, statefulsets, hpas, scaledObjects, events, configMaps] = await Promise.all([
    listOrSkip<Pod>(cluster, 'v1', 'Pod', namespace, skipped),
    listOrSkip<Workload>(cluster, 'apps/v1', 'Deployment', namespace, skipped),
    listOrSkip<Workload>(cluster, 'apps/v1', 'StatefulSet', namespace, skipped),
    listOrSkip<Hpa>(cluster, 'autoscaling/v2', 'HorizontalPodAutoscaler', namespace, skipped),
    listOrSkip<ScaledObject>(cluster, 'keda.sh/v1alpha1', 'ScaledObject', namespace, skipped),
    listOrSkip<Event>(cluster, 'v1', 'Event', namespace, skipped, { fieldSelector: 'type=Warning' }),
    listOrSkip<K8sObject & { data?: Record<string, string> }>(cluster, 'v1', 'ConfigMap', namespace, skipped),
  ]);
  const findings: K8sFinding[] = [];
  const workerConfig = configMaps.find((c) => c.metadata.name === 'worker-config')?.data ?? {};
  const poolSize = Number(workerConfig.WORKER_POOL_SIZE ?? Number.NaN);
  const sandboxKb = Number(workerConfig.WORKER_DEFAULT_MEMORY_LIMIT_KB ?? Number.NaN);

  for (const p of pods) {
    const st = p.status ?? {};
    const name = `Pod/${p.metadata.name}`;
    if (st.phase === 'Pending') {
      const sched = unschedulable(p);
      const requests = (p.spec?.containers ?? [])
        .map(
          (c) =>
            `${c.name} ${
              Object.entries(c.resources?.requests ?? {})
                .map(([k, v]) => `${k}=${v}`)
                .join(' ') || 'no requests'
            }`,
        )
        .join('; ');
      findings.push({
        id: 'pod-pending',
        severity: 'warning',
        object: name,
        title: 'Pod cannot be scheduled',
        detail: `Pending${sched ? `: ${schedulingReason(sched)}` : ' (no scheduling decision yet)'}; requests: ${requests}.`,
        fix: "Compare the requests with the nodes' allocatable and the namespace quota (kubectl describe resourcequota); lower the requests with `sentinel-ctl tune pool` or add nodes.",
        source: PODS_NOT_STARTING,
      });
    }
    for (const c of st.containerStatuses ?? []) {
      const oom = oomKilled(c);
      if (oom) {
        const limit = p.spec?.containers?.find((x) => x.name === c.name)?.resources?.limits?.memory;
        const limitBytes = limit ? parseQuantity(limit) : undefined;
        const isWorker = ownerApp(p) === 'worker' && Number.isFinite(poolSize) && Number.isFinite(sandboxKb);
        const need = isWorker ? poolSize * sandboxKb * 1024 : undefined;
        findings.push({
          id: 'pod-oom-killed',
          severity: 'critical',
          object: name,
          title: `Container ${c.name} was OOMKilled`,
          detail:
            `${c.name} ended OOMKilled (${c.restartCount ?? 0} restarts); memory limit ${limit ?? 'none'}` +
            (need !== undefined
              ? `, while WORKER_POOL_SIZE ${poolSize} × ${mib(sandboxKb * 1024)} per sandbox = ${mib(need)}${limitBytes !== undefined && limitBytes < need ? ' does not fit' : ''}.`
              : '.'),
          fix: isWorker
            ? 'Give the worker container at least pool × sandbox memory plus its own overhead, or lower WORKER_POOL_SIZE: `sentinel-ctl tune pool --write`.'
            : "Raise the container's memory limit, or find what grows (kubectl top pod).",
          source: { guide: TUNING_GUIDE, section: 'Worker Service > K8s Resource Requests' },
        });
      }
      const waiting = c.state?.waiting?.reason;
      if (waiting === 'CrashLoopBackOff') {
        findings.push({
          id: 'pod-crash-loop',
          severity: 'critical',
          object: name,
          title: `Container ${c.name} is crash-looping`,
          detail: `${c.name} CrashLoopBackOff after ${c.restartCount ?? 0} restarts; last exit: ${c.lastState?.terminated?.reason ?? '?'} (code ${c.lastState?.terminated?.exitCode ?? '?'}).`,
          fix: `Read its logs: kubectl logs -n ${namespace} ${p.metadata.name} -c ${c.name} --previous${ownerApp(p) === 'worker' ? ' (a worker that crash-loops often lacks the nsjail binary or seccomp support)' : ''}.`,
          source: PODS_NOT_STARTING,
        });
      } else if (waiting === 'ImagePullBackOff' || waiting === 'ErrImagePull') {
        findings.push({
          id: 'pod-image-pull',
          severity: 'critical',
          object: name,
          title: `Image of ${c.name} cannot be pulled`,
          detail: `${c.name} ${waiting}: ${c.state?.waiting?.message ?? ''}`.trim(),
          fix: 'Check the image name and tag (generate k8s --registry/--tag) and the registry credentials.',
          source: PODS_NOT_STARTING,
        });
      } else if ((c.restartCount ?? 0) >= 3 && !oom) {
        findings.push({
          id: 'pod-restarts',
          severity: 'warning',
          object: name,
          title: `Container ${c.name} restarts`,
          detail: `${c.name} restarted ${c.restartCount} times; last exit: ${c.lastState?.terminated?.reason ?? '?'}.`,
          fix: `kubectl logs -n ${namespace} ${p.metadata.name} -c ${c.name} --previous`,
          source: PODS_NOT_STARTING,
        });
      }
    }
  }

  // One finding per workload and fault, not one per pod: fifty OOM-killed workers are one problem.
  const appOf = new Map(pods.map((p) => [`Pod/${p.metadata.name}`, ownerApp(p)]));
  const groups = new Map<string, K8sFinding[]>();
  for (const f of findings.splice(0)) {
    const key = `${f.id}|${appOf.get(f.object)}|${f.title}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  for (const [, [first, ...more]] of groups) {
    if (!first) continue;
    findings.push(
      more.length === 0
        ? first
        : {
            ...first,
            object: `${first.object} and ${more.length} more ${appOf.get(first.object)} pod${more.length > 1 ? 's' : ''}`,
            detail: `${first.detail} (${more.length + 1} pods alike)`,
          },
    );
  }

  for (const d of deployments) {
    const stuck = d.status?.conditions?.find(
      (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
    );
    if (stuck) {
      findings.push({
        id: 'rollout-stuck',
        severity: 'critical',
        object: `Deployment/${d.metadata.name}`,
        title: 'Rollout stuck',
        detail: `${stuck.message ?? 'progress deadline exceeded'} (${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1} ready).`,
        fix: 'The pod findings say why the new pods do not become ready; `kubectl rollout undo` returns to the last version.',
        source: PODS_NOT_STARTING,
      });
    }
  }

  for (const h of hpas) {
    const max = h.spec?.maxReplicas;
    const current = h.status?.currentReplicas ?? 0;
    if (max !== undefined && current >= max) {
      findings.push({
        id: 'hpa-at-max',
        severity: 'warning',
        object: `HorizontalPodAutoscaler/${h.metadata.name}`,
        title: `${h.spec?.scaleTargetRef?.name ?? h.metadata.name} at its HPA maximum`,
        detail: `${current} replicas = maxReplicas ${max}: the HPA cannot add more${h.status?.desiredReplicas && h.status.desiredReplicas > max ? ` (it wants ${h.status.desiredReplicas})` : ''}.`,
        fix: 'Raise maxReplicas, and with it PostgreSQL max_connections (every API replica opens its pool): `sentinel-ctl tune pool`.',
        source: { guide: DEPLOY_GUIDE, section: 'Scaling Configuration > API HPA (CPU-based)' },
      });
    }
  }

  for (const so of scaledObjects) {
    const object = `ScaledObject/${so.metadata.name}`;
    const cond = (t: string) => so.status?.conditions?.find((c) => c.type === t);
    const ready = cond('Ready');
    if (ready?.status === 'False') {
      findings.push({
        id: 'keda-not-ready',
        severity: 'critical',
        object,
        title: 'KEDA cannot scale the workers',
        detail: `Ready=False${ready.reason ? ` ${ready.reason}` : ''}: ${ready.message ?? ''}`.trim(),
        fix: `kubectl describe scaledobject -n ${namespace} ${so.metadata.name}; check the TriggerAuthentication's Secret and the RabbitMQ URL.`,
        source: { guide: DEPLOY_GUIDE, section: 'Troubleshooting > Jobs Stuck in QUEUED' },
      });
    }
    const fallback = cond('Fallback');
    if (fallback?.status === 'True') {
      findings.push({
        id: 'keda-fallback',
        severity: 'warning',
        object,
        title: 'KEDA runs on its fallback replica count',
        detail: `Fallback=True${fallback.reason ? ` ${fallback.reason}` : ''}: ${fallback.message ?? 'the scaler fails'}.`,
        fix: "The trigger cannot read the queue: check RabbitMQ and the trigger's host secret.",
        source: { guide: TUNING_GUIDE, section: 'KEDA Auto-Scaling > ScaledObject Parameters' },
      });
    }
    if (cond('Paused')?.status === 'True') {
      findings.push({
        id: 'keda-paused',
        severity: 'info',
        object,
        title: 'KEDA scaling is paused',
        detail: `Paused=True: ${cond('Paused')?.message ?? 'autoscaling.keda.sh/paused annotation'}.`,
        fix: 'Remove the paused annotation when the maintenance is over.',
        source: { guide: TUNING_GUIDE, section: 'KEDA Auto-Scaling > ScaledObject Parameters' },
      });
    }
    const target = deployments.find((d) => d.metadata.name === so.spec?.scaleTargetRef?.name);
    const max = so.spec?.maxReplicaCount;
    const replicas = target?.status?.replicas ?? target?.spec?.replicas;
    if (target && max !== undefined && replicas !== undefined && replicas >= max) {
      const maxWorkers = Number.isFinite(poolSize) ? max * poolSize : undefined;
      findings.push({
        id: 'keda-at-max',
        severity: 'warning',
        object,
        title: 'Workers at KEDA maxReplicaCount',
        detail: `${target.metadata.name} has ${replicas} replicas = maxReplicaCount ${max}${maxWorkers !== undefined ? `: at most ${max} × ${poolSize} = ${maxWorkers} executions at once` : ''}${cond('Active')?.status === 'True' ? ', and the trigger is still active' : ''}.`,
        fix: 'If the queue keeps growing, raise maxReplicaCount or WORKER_POOL_SIZE, and PostgreSQL max_connections with them: `sentinel-ctl tune keda` and `tune pool`.',
        source: { guide: TUNING_GUIDE, section: 'KEDA Auto-Scaling > Calculating Max Workers' },
      });
    }
  }

  const byReason = new Map<string, { count: number; objects: Set<string>; message: string }>();
  for (const e of events) {
    const key = e.reason ?? 'Warning';
    const g = byReason.get(key) ?? { count: 0, objects: new Set<string>(), message: e.message ?? '' };
    g.count += e.count ?? 1;
    g.objects.add(`${e.involvedObject?.kind}/${e.involvedObject?.name}`);
    byReason.set(key, g);
  }
  for (const [reason, g] of [...byReason].sort((a, b) => b[1].count - a[1].count).slice(0, 5)) {
    findings.push({
      id: 'warning-events',
      severity: g.count >= 10 ? 'warning' : 'info',
      object: [...g.objects].slice(0, 3).join(', '),
      title: `Warning events: ${reason}`,
      detail: `${g.count} × ${reason} on ${g.objects.size} object(s), e.g. "${g.message}".`,
      fix: `kubectl get events -n ${namespace} --field-selector reason=${reason}`,
      source: PODS_NOT_STARTING,
    });
  }

  const order: Record<K8sSeverity, number> = { critical: 0, warning: 1, info: 2 };
  findings.sort((a, b) => order[a.severity] - order[b.severity] || a.id.localeCompare(b.id));
  const counts = { info: 0, warning: 0, critical: 0 };
  for (const f of findings) counts[f.severity]++;
  return {
    context: cluster.context,
    server: cluster.server,
    namespace,
    at: new Date().toISOString(),
    healthy: counts.critical === 0,
    counts,
    findings,
    facts: {
      pods: pods.length,
      deployments: deployments.length,
      statefulsets: statefulsets.length,
      hpas: hpas.length,
      scaledObjects: scaledObjects.length,
      warningEvents: events.length,
    },
    skipped,
    ms: Math.round(performance.now() - started),
  };
}
