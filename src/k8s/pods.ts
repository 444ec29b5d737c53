/**
 * The interactive `diagnose --k8s`: a source for the diagnose UI (src/diagnose/ui) that refreshes
 * the data plane (the local collectors through the service proxy, src/k8s/dataplane.ts), the
 * control-plane findings (src/k8s/diagnose.ts) and the namespace's pods with their events, which the
 * UI's Kubernetes pane lists (status, restarts, last termination; enter shows a pod's events).
 */
import { countBySeverity } from '../diagnose/rules/index.js';
import type { DiagnoseSession, Series } from '../diagnose/session.js';
import type {
  ComponentName,
  DiagnoseReport,
  Finding,
  KubernetesView,
  PodEvent,
  PodRow,
  Severity,
} from '../diagnose/types.js';
import type { DiagnoseSource } from '../diagnose/ui/DiagnoseApp.js';
import { type Cluster, K8sApiError } from './client.js';
import { objectOf } from './dataplane.js';
import { diagnoseK8s, type K8sFinding } from './diagnose.js';
import {
  type Event,
  oomKilled,
  type Pod,
  schedulingReason,
  type Terminated,
  unschedulable,
} from './pod-status.js';

const CRITICAL_REASONS = new Set([
  'CrashLoopBackOff',
  'OOMKilled',
  'ImagePullBackOff',
  'ErrImagePull',
  'Error',
  'CreateContainerConfigError',
]);

const secondsSince = (iso: string | undefined, now: number) =>
  iso ? Math.max(0, Math.round((now - Date.parse(iso)) / 1000)) : null;

function termination(t: Terminated | undefined): string | null {
  if (!t) return null;
  return `${t.reason ?? 'Terminated'}${t.exitCode !== undefined ? ` (${t.exitCode})` : ''}`;
}

/** One pod as a row: the status kubectl would print, its restarts and its last termination. */
export function podRow(p: Pod, now: number): PodRow {
  const st = p.status ?? {};
  const cs = st.containerStatuses ?? [];
  let status = st.phase ?? 'Unknown';
  for (const c of cs) {
    const r = c.state?.waiting?.reason ?? c.state?.terminated?.reason;
    if (r) {
      status = r;
      break;
    }
  }
  const sched = unschedulable(p);
  if (p.metadata.deletionTimestamp) status = 'Terminating';
  const restarts = cs.reduce((a, c) => a + (c.restartCount ?? 0), 0);
  const last = cs
    .map((c) => c.lastState?.terminated)
    .filter((t): t is Terminated => Boolean(t))
    .sort((a, b) => (b.finishedAt ?? '').localeCompare(a.finishedAt ?? ''))[0];
  const anyOom = cs.some(oomKilled);
  let severity: Severity | null = null;
  if (CRITICAL_REASONS.has(status) || anyOom) severity = 'critical';
  else if (st.phase === 'Pending' || st.phase === 'Failed' || restarts >= 3) severity = 'warning';
  const resourcesOf = (name: string, kind: 'requests' | 'limits') => {
    const l = p.spec?.containers?.find((c) => c.name === name)?.resources?.[kind];
    return l
      ? Object.entries(l)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')
      : null;
  };
  return {
    name: p.metadata.name,
    status,
    severity,
    ready: `${cs.filter((c) => c.ready).length}/${p.spec?.containers?.length ?? cs.length}`,
    restarts,
    lastTermination: termination(last),
    lastTerminationSeconds: secondsSince(last?.finishedAt, now),
    ageSeconds: secondsSince(p.metadata.creationTimestamp as string | undefined, now),
    containers: (p.spec?.containers ?? []).map((spec) => {
      const c = cs.find((x) => x.name === spec.name);
      const state = c?.state?.waiting
        ? `waiting: ${c.state.waiting.reason ?? '?'}`
        : c?.state?.terminated
          ? `terminated: ${termination(c.state.terminated)}`
          : c?.state?.running
            ? 'running'
            : 'no status';
      return {
        name: spec.name,
        state,
        restarts: c?.restartCount ?? 0,
        lastTermination: termination(c?.lastState?.terminated),
        requests: resourcesOf(spec.name, 'requests'),
        limits: resourcesOf(spec.name, 'limits'),
      };
    }),
    scheduling: sched ? schedulingReason(sched).trim() : null,
  };
}

/** Pods (worst first) and every event about a pod, newest first (20 per pod). */
export async function kubernetesView(cluster: Cluster, namespace: string): Promise<KubernetesView> {
  const now = Date.now();
  const [pods, events] = await Promise.all([
    cluster.list<Pod>('v1', 'Pod', namespace),
    cluster.list<Event>('v1', 'Event', namespace).catch((error) => {
      // A role that may list pods but not events still gets the pane.
      if (error instanceof K8sApiError && error.status === 403) return [] as Event[];
      throw error;
    }),
  ]);
  const rank = (s: Severity | null) => (s === 'critical' ? 0 : s === 'warning' ? 1 : 2);
  const rows = pods
    .map((p) => podRow(p, now))
    .sort((a, b) => rank(a.severity) - rank(b.severity) || a.name.localeCompare(b.name));
  const byPod: Record<string, PodEvent[]> = {};
  const when = (e: Event) =>
    e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  for (const e of [...events].sort((a, b) => (when(b) ?? '').localeCompare(when(a) ?? ''))) {
    if (e.involvedObject?.kind !== 'Pod' || !e.involvedObject.name) continue;
    const list = byPod[e.involvedObject.name] ?? [];
    byPod[e.involvedObject.name] = list;
    if (list.length >= 20) continue;
    list.push({
      name: e.metadata?.name ?? `${e.reason}-${list.length}`,
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      message: e.message ?? '',
      count: e.count ?? 1,
      ageSeconds: secondsSince(when(e), now),
    });
  }
  return { context: cluster.context, namespace, pods: rows, events: byPod };
}

/** A control-plane finding as the UI's findings list shows it (component "k8s"). */
export function uiFinding(f: K8sFinding): Finding {
  return {
    id: f.id,
    component: 'k8s' as ComponentName,
    severity: f.severity,
    title: `${f.object}: ${f.title}`,
    evidence: { object: f.object },
    detail: f.detail,
    bottleneck: f.object,
    fix: f.fix,
    source: f.source,
  };
}

/** The diagnose UI's source for a cluster: data plane, control-plane findings and the pods pane. */
export class K8sDiagnoseSource implements DiagnoseSource {
  constructor(
    private readonly cluster: Cluster,
    private readonly namespace: string,
    private readonly session: DiagnoseSession,
  ) {}

  get series(): Series {
    return this.session.series;
  }

  async tick(): Promise<DiagnoseReport> {
    const [report, control, view] = await Promise.all([
      this.session.tick(),
      diagnoseK8s(this.cluster, this.namespace),
      kubernetesView(this.cluster, this.namespace),
    ]);
    const seen = new Map<string, number>();
    const findings = [
      ...control.findings.map(uiFinding),
      ...report.findings.map((f) => ({
        ...f,
        evidence: { ...f.evidence, object: objectOf(f.component, this.namespace) },
      })),
    ].map((f) => {
      // Ids are the UI's keys: a rule that fires for two objects gets #2.
      const n = (seen.get(f.id) ?? 0) + 1;
      seen.set(f.id, n);
      return n === 1 ? f : { ...f, id: `${f.id}#${n}` };
    });
    const order = { critical: 0, warning: 1, info: 2 } as const;
    findings.sort((a, b) => order[a.severity] - order[b.severity]);
    const counts = countBySeverity(findings);
    // Service-proxy URLs shortened to what names the object (`services/api:http/proxy/...`), so a
    // line of the view shows the Service, not the API server's address.
    const base = `${this.cluster.server}/api/v1/namespaces/${this.namespace}/`;
    const short = <T>(v: T): T => JSON.parse(JSON.stringify(v).split(base).join('')) as T;
    return short({ ...report, findings, counts, healthy: counts.critical === 0, kubernetes: view });
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
