/**
 * Rollout state of the workloads in a set, as `kubectl rollout status` judges it, and why one is not
 * ready: its conditions, its pods' phases and waiting reasons (CrashLoopBackOff, ImagePullBackOff,
 * Pending with the scheduler's message) and the warning events about it and its pods.
 */
import type { Cluster, K8sObject, ObjectRef } from './client.js';
import { type Event, type Pod, schedulingReason, unschedulable } from './pod-status.js';

export const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

export interface WorkloadState extends ObjectRef {
  ready: boolean;
  /** "2/3 ready" or "missing". */
  progress: string;
  /** Why it is not ready (empty when ready). */
  reasons: string[];
}

interface Workload extends K8sObject {
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    updateStrategy?: { type?: string };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    desiredNumberScheduled?: number;
    numberReady?: number;
    updatedNumberScheduled?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

/** Ready as `kubectl rollout status` has it: the controller saw the spec, every replica updated and ready. */
export function judge(w: Workload): { ready: boolean; progress: string } {
  const s = w.status ?? {};
  const seen = (s.observedGeneration ?? 0) >= (w.metadata.generation ?? 0);
  if (w.kind === 'DaemonSet') {
    const want = s.desiredNumberScheduled ?? 0;
    const ready =
      seen && want > 0 && (s.updatedNumberScheduled ?? 0) === want && (s.numberReady ?? 0) === want;
    return { ready, progress: `${s.numberReady ?? 0}/${want} ready` };
  }
  const want = w.spec?.replicas ?? 1;
  const readyN = s.readyReplicas ?? 0;
  let ready = seen && (s.updatedReplicas ?? 0) >= want && readyN >= want && (s.replicas ?? 0) <= want;
  if (w.kind === 'Deployment') ready = ready && (s.availableReplicas ?? 0) >= want;
  if (w.kind === 'StatefulSet' && (w.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
    ready = ready && (!s.updateRevision || s.currentRevision === s.updateRevision);
  }
  return { ready, progress: `${readyN}/${want} ready` };
}

function podReasons(pods: Pod[]): string[] {
  const reasons = new Map<string, number>();
  const add = (r: string) => reasons.set(r, (reasons.get(r) ?? 0) + 1);
  for (const p of pods) {
    const st = p.status ?? {};
    if (st.phase === 'Pending') {
      const sched = unschedulable(p);
      if (sched) add(`Pending: ${schedulingReason(sched)}`.trim());
    }
    for (const c of st.containerStatuses ?? []) {
      const w = c.state?.waiting;
      if (w?.reason) {
        const last = c.lastState?.terminated?.reason;
        add(
          `${c.name} ${w.reason}${last ? ` (last exit: ${last})` : ''}${c.restartCount ? `, ${c.restartCount} restarts` : ''}`,
        );
      } else if (c.state?.terminated?.reason) add(`${c.name} terminated: ${c.state.terminated.reason}`);
    }
    if (!st.containerStatuses?.length && st.phase !== 'Pending') add(`pod ${st.phase ?? 'without status'}`);
  }
  return [...reasons].map(([r, n]) => (n > 1 ? `${n} pods: ${r}` : r));
}

/** The state of each workload among `refs`, with the reasons of those not ready. */
export async function workloadStates(cluster: Cluster, refs: ObjectRef[]): Promise<WorkloadState[]> {
  const workloads = refs.filter((r) => WORKLOAD_KINDS.has(r.kind));
  const byNs = new Map<string, { pods: Promise<Pod[]>; events: Promise<Event[]> }>();
  const nsData = (ns: string) => {
    let d = byNs.get(ns);
    if (!d) {
      d = {
        pods: cluster.list<Pod>('v1', 'Pod', ns),
        events: cluster.list<Event>('v1', 'Event', ns, { fieldSelector: 'type=Warning' }),
      };
      byNs.set(ns, d);
    }
    return d;
  };
  return Promise.all(
    workloads.map(async (ref): Promise<WorkloadState> => {
      const w = await cluster.get<Workload>(ref);
      if (!w) return { ...ref, ready: false, progress: 'missing', reasons: ['the object does not exist'] };
      const { ready, progress } = judge(w);
      if (ready) return { ...ref, ready, progress, reasons: [] };
      const reasons: string[] = [];
      if ((w.status?.observedGeneration ?? 0) < (w.metadata.generation ?? 0)) {
        reasons.push(
          `its controller has not seen generation ${w.metadata.generation} yet (is kube-controller-manager running?)`,
        );
      }
      for (const c of w.status?.conditions ?? []) {
        if (c.status === 'False' || (c.type === 'ReplicaFailure' && c.status === 'True')) {
          reasons.push(
            `${c.type}=${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`,
          );
        }
      }
      const ns = ref.namespace ?? cluster.namespace;
      const { pods, events } = nsData(ns);
      const selector = w.spec?.selector?.matchLabels ?? {};
      const own = (await pods).filter((p) =>
        Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
      );
      if (own.length === 0) reasons.push('no pods exist for its selector');
      reasons.push(...podReasons(own));
      const names = new Set([w.metadata.name, ...own.map((p) => p.metadata.name)]);
      const warnings = (await events)
        .filter((e) => e.involvedObject?.name && names.has(e.involvedObject.name))
        .sort((a, b) =>
          String(b.lastTimestamp ?? b.eventTime).localeCompare(String(a.lastTimestamp ?? a.eventTime)),
        )
        .slice(0, 3);
      for (const e of warnings) {
        reasons.push(
          `event ${e.reason} on ${e.involvedObject?.kind}/${e.involvedObject?.name}: ${e.message}${(e.count ?? 1) > 1 ? ` (×${e.count})` : ''}`,
        );
      }
      return { ...ref, ready, progress, reasons };
    }),
  );
}

/**
 * Polls until every workload is ready or `timeoutMs` passes; `progress` hears each change of a
 * workload's count. Returns the last states (the caller reports the ones not ready).
 */
export async function waitForRollout(
  cluster: Cluster,
  refs: ObjectRef[],
  o: { timeoutMs: number; intervalMs?: number; progress?: (line: string) => void; signal?: AbortSignal },
): Promise<{ states: WorkloadState[]; ready: boolean; waitedMs: number }> {
  const started = Date.now();
  const last = new Map<string, string>();
  for (;;) {
    const states = await workloadStates(cluster, refs);
    for (const s of states) {
      const key = `${s.kind}/${s.namespace}/${s.name}`;
      if (last.get(key) !== s.progress) {
        last.set(key, s.progress);
        o.progress?.(`${s.kind}/${s.name}: ${s.progress}`);
      }
    }
    const ready = states.every((s) => s.ready);
    const waitedMs = Date.now() - started;
    if (ready || waitedMs >= o.timeoutMs || o.signal?.aborted) return { states, ready, waitedMs };
    await new Promise((r) =>
      setTimeout(r, Math.min(o.intervalMs ?? 1000, Math.max(0, o.timeoutMs - waitedMs))),
    );
  }
}
