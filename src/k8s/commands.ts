/**
 * The `--k8s` branches of `up`, `status`, `down` and `diagnose`: what they do and print (their flags
 * are in flags.ts). The commands in src/commands/ import this module only when --k8s is given, so
 * the local-stack paths neither load @kubernetes/client-node nor pay for it at start-up.
 */
import type { Profile } from '../config/schema.js';
import type { ComponentName } from '../diagnose/types.js';
import { CheckFailedError } from '../lib/errors.js';
import { renderTable } from '../lib/table.js';
import { fitToTerminal } from '../lib/terminal.js';
import { type ApplyResult, applySet } from './apply.js';
import { type Cluster, connectCluster, type ObjectRef, refLabel } from './client.js';
import type { DataPlaneResult } from './dataplane.js';
import { diagnoseK8s, type K8sDiagnoseReport } from './diagnose.js';
import { type DownResult, downSet } from './down.js';
import { DEFAULT_REGISTRY, DEFAULT_TAG } from './flags.js';

export type { DownResult };

import { readInventory } from './inventory.js';
import { generatedSet, loadManifestSet } from './manifests.js';
import { WORKLOAD_KINDS, type WorkloadState, waitForRollout, workloadStates } from './rollout.js';

/** Output channels of the calling command. */
export interface CommandIo {
  log(line: string): void;
  note(line: string): void;
  warn(line: string): void;
  json: boolean;
}

type ClusterFlagValues = { kubeconfig?: string; context?: string; namespace?: string };

function connect(flags: ClusterFlagValues): Cluster {
  return connectCluster({ kubeconfig: flags.kubeconfig, context: flags.context, namespace: flags.namespace });
}

export interface UpK8sResult extends ApplyResult {
  rollout?: { ready: boolean; waitedMs: number; workloads: WorkloadState[] };
}

/** What `up --k8s` or `down --k8s` did to each object: KIND NAME NAMESPACE RESULT. */
function actionTable(
  objects: Array<{ kind: string; name: string; namespace?: string; action: string; detail?: string }>,
): string {
  return renderTable(
    ['KIND', 'NAME', 'NAMESPACE', 'RESULT'],
    objects.map((o) => [
      o.kind,
      o.name,
      o.namespace ?? '-',
      o.detail ? `${o.action}: ${o.detail}` : o.action,
    ]),
  );
}

/** Error of a run that still has a result for --json (a dry run with changes, a timeout, conflicts). */
export class K8sCheckFailed extends CheckFailedError {
  constructor(
    message: string,
    override readonly result: unknown,
    suggestion: string,
    code: string,
  ) {
    super(message, { suggestion, code, result });
  }
}

function describeNotReady(states: WorkloadState[]): string {
  return states
    .filter((s) => !s.ready)
    .map((s) => `${s.kind}/${s.name} ${s.progress}: ${s.reasons.join('; ') || 'not ready'}`)
    .join(' | ');
}

export async function upK8s(
  flags: ClusterFlagValues & {
    manifests?: string;
    'dry-run'?: boolean;
    'force-conflicts'?: boolean;
    wait: boolean;
    timeout: number;
  },
  profile: Profile,
  io: CommandIo,
): Promise<UpK8sResult> {
  const cluster = connect(flags);
  const version = await cluster.version();
  const set = flags.manifests
    ? loadManifestSet(flags.manifests)
    : generatedSet({
        profile,
        namespace: cluster.namespace,
        workload: 'default',
        host: 'sentinel.example.com',
        registry: DEFAULT_REGISTRY,
        tag: DEFAULT_TAG,
      });
  const dryRun = Boolean(flags['dry-run']);
  io.note(
    `${dryRun ? 'Dry run of' : 'Applying'} ${set.objects.length} objects from ${set.source} to ${cluster.label}, Kubernetes ${version}...`,
  );
  const applied = await applySet(cluster, set, {
    dryRun,
    forceConflicts: Boolean(flags['force-conflicts']),
    progress: (line) => io.note(`  ${line}`),
  });
  const result: UpK8sResult = applied;
  if (!io.json) {
    if (dryRun) for (const o of applied.objects) if (o.diff) io.log(o.diff);
    io.log(actionTable(applied.objects));
  }
  if (applied.stale.length > 0) {
    io.warn(
      `${applied.stale.length} object(s) applied earlier are no longer in ${set.source}: ${applied.stale.map(refLabel).join(', ')}. They stay in the inventory; down --k8s deletes them.`,
    );
  }
  const conflicts = applied.objects.filter((o) => o.action === 'conflict');
  if (conflicts.length > 0 && !dryRun) {
    throw new K8sCheckFailed(
      `${conflicts.length} object(s) not applied, fields owned by another manager: ${conflicts.map((c) => `${refLabel(c)}: ${c.detail}`).join('; ')}`,
      result,
      'Decide who owns those fields; --force-conflicts makes sentinel-ctl take them over.',
      'APPLY_CONFLICT',
    );
  }
  const counts = (a: string) => applied.objects.filter((o) => o.action === a).length;
  if (dryRun) {
    const changing = applied.objects.filter((o) => o.action !== 'unchanged' && o.action !== 'kept');
    if (changing.length > 0) {
      throw new K8sCheckFailed(
        `${changing.length} object(s) would change: ${changing.map((c) => `${refLabel(c)}${c.action === 'conflict' ? ` (conflict: ${c.detail})` : ''}`).join(', ')}.`,
        result,
        conflicts.length > 0
          ? 'Apply with `sentinel-ctl up --k8s`; fields another manager owns need --force-conflicts (the diff shows what forcing changes).'
          : 'Apply them with `sentinel-ctl up --k8s` (same flags, without --dry-run).',
        'WOULD_CHANGE',
      );
    }
    io.note(`No changes: the cluster matches ${set.source}.`);
    return result;
  }
  io.note(
    `Applied in ${(applied.applyMs / 1000).toFixed(2)} s: ${counts('created')} created, ${counts('configured')} configured, ${counts('unchanged')} unchanged, ${counts('kept')} kept. Inventory: ConfigMap sentinel-ctl-inventory in ${applied.namespace}.`,
  );
  const workloads: ObjectRef[] = applied.objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  if (!flags.wait || workloads.length === 0) return result;
  io.note(
    `Waiting up to ${Math.round(flags.timeout / 1000)} s for ${workloads.length} workloads to be ready...`,
  );
  const rollout = await waitForRollout(cluster, workloads, {
    timeoutMs: flags.timeout,
    progress: (l) => io.note(`  ${l}`),
  });
  result.rollout = { ready: rollout.ready, waitedMs: rollout.waitedMs, workloads: rollout.states };
  if (!rollout.ready) {
    const bad = rollout.states.filter((s) => !s.ready);
    throw new K8sCheckFailed(
      `Not ready after ${Math.round(rollout.waitedMs / 1000)} s: ${describeNotReady(rollout.states)}`,
      result,
      `Look closer with \`kubectl -n ${bad[0]?.namespace ?? applied.namespace} describe ${bad[0]?.kind.toLowerCase()} ${bad[0]?.name}\`; the objects are applied, a second up --k8s resumes the wait.`,
      'ROLLOUT_TIMEOUT',
    );
  }
  io.note(`All ${workloads.length} workloads ready.`);
  return result;
}

export interface StatusK8sResult {
  context: string;
  server: string;
  namespace: string;
  inventory: boolean;
  appliedAt?: string;
  source?: string;
  healthy: boolean;
  objects: Array<ObjectRef & { state: string; ready: boolean }>;
}

/** Cuts a cell so the table fits the terminal; --json keeps the whole text. */
function fitCell(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

export async function statusK8s(
  flags: ClusterFlagValues & { check?: boolean },
  io: CommandIo,
): Promise<StatusK8sResult> {
  const cluster = connect(flags);
  await cluster.version();
  const namespace = cluster.namespace;
  const inv = await readInventory(cluster, namespace);
  const result: StatusK8sResult = {
    context: cluster.context,
    server: cluster.server,
    namespace,
    inventory: Boolean(inv),
    appliedAt: inv?.appliedAt,
    source: inv?.source,
    healthy: false,
    objects: [],
  };
  if (!inv) {
    io.note(
      `Nothing applied by sentinel-ctl in namespace ${namespace} of ${cluster.label} (no ConfigMap sentinel-ctl-inventory).`,
    );
  } else {
    const states = await workloadStates(cluster, inv.entries).catch((error) => {
      throw cluster.explain(error, 'read the workloads');
    });
    for (const e of inv.entries) {
      const w = states.find((s) => s.kind === e.kind && s.name === e.name && s.namespace === e.namespace);
      if (w) {
        result.objects.push({
          ...e,
          ready: w.ready,
          state: w.ready ? w.progress : `${w.progress}: ${w.reasons.join('; ')}`,
        });
        continue;
      }
      const live = await cluster.get(e).catch((error) => {
        throw cluster.explain(error, `read ${refLabel(e)}`);
      });
      result.objects.push({
        ...e,
        ready: Boolean(live),
        state: !live ? 'missing' : live.metadata.deletionTimestamp ? 'terminating' : 'present',
      });
    }
    result.healthy = result.objects.every((o) => o.ready);
    if (!io.json) {
      // KIND, NAME and NAMESPACE take about 60 columns.
      const width = Math.max(30, (process.stdout.columns || 120) - 60);
      io.log(
        renderTable(
          ['KIND', 'NAME', 'NAMESPACE', 'STATE'],
          result.objects.map((o) => [o.kind, o.name, o.namespace ?? '-', fitCell(o.state, width)]),
        ),
      );
      io.note(`Applied ${inv.appliedAt ?? '?'} from ${inv.source ?? '?'} to ${cluster.label}.`);
    }
  }
  if (flags.check && !result.healthy) {
    const bad = result.objects.filter((o) => !o.ready);
    throw new K8sCheckFailed(
      inv
        ? `Not ready: ${bad.map((o) => `${refLabel(o)} (${o.state})`).join(', ')}.`
        : `Nothing applied in namespace ${namespace}.`,
      result,
      inv
        ? 'up --k8s applies and waits; its timeout message says why a workload is not ready.'
        : 'Apply with `sentinel-ctl up --k8s`, or pass -n with the namespace of the set.',
      'NOT_READY',
    );
  }
  return result;
}

export async function downK8s(flags: ClusterFlagValues, io: CommandIo): Promise<DownResult> {
  const cluster = connect(flags);
  await cluster.version();
  const result = await downSet(cluster, cluster.namespace);
  if (!result.inventory) {
    io.note(
      `Nothing to delete: no ConfigMap sentinel-ctl-inventory in namespace ${result.namespace} of ${cluster.label}.`,
    );
    return result;
  }
  if (!io.json) {
    io.log(actionTable(result.objects));
  }
  const kept = result.objects.filter((o) => o.action === 'kept');
  for (const k of kept) io.warn(`${refLabel(k)} kept: ${k.detail}.`);
  return result;
}

export type { K8sDiagnoseReport };

/** What `diagnose --k8s` takes besides the cluster: the data plane's explicit URLs and timings. */
export interface DiagnoseK8sValues extends ClusterFlagValues {
  'database-url'?: string;
  'redis-url'?: string;
  components?: string;
  timeout?: number;
  'sample-interval'?: number;
  'data-plane'?: boolean;
}

export type K8sDiagnoseWithDataPlane = K8sDiagnoseReport & {
  dataPlane?: Omit<DataPlaneResult, 'findings' | 'report'> & { facts: DataPlaneResult['report']['facts'] };
};

/** The control plane and, unless --no-data-plane, the data plane of one namespace: one report. */
export async function collectK8sDiagnose(
  cluster: Cluster,
  flags: DiagnoseK8sValues,
): Promise<K8sDiagnoseWithDataPlane> {
  const namespace = cluster.namespace;
  if (flags['data-plane'] === false) return diagnoseK8s(cluster, namespace);
  const started = performance.now();
  // Both planes at once; the data plane's collectors (pg, amqplib, ioredis…) are loaded only here,
  // while the control plane's lists are on the wire.
  const [report, data] = await Promise.all([
    diagnoseK8s(cluster, namespace) as Promise<K8sDiagnoseWithDataPlane>,
    import('./dataplane.js').then(({ diagnoseDataPlane }) =>
      diagnoseDataPlane(cluster, namespace, {
        databaseUrl: flags['database-url'],
        redisUrl: flags['redis-url'],
        components: flags.components?.split(',') as ComponentName[] | undefined,
        sampleIntervalMs: flags['sample-interval'] ?? 1000,
        timeoutMs: flags.timeout ?? 2000,
      }),
    ),
  ]);
  const order = { critical: 0, warning: 1, info: 2 } as const;
  report.findings = [...report.findings, ...data.findings].sort(
    (a, b) => order[a.severity] - order[b.severity] || a.id.localeCompare(b.id),
  );
  report.counts = { info: 0, warning: 0, critical: 0 };
  for (const f of report.findings) report.counts[f.severity]++;
  report.healthy = report.counts.critical === 0;
  report.dataPlane = { components: data.components, facts: data.report.facts };
  report.ms = Math.round(performance.now() - started);
  return report;
}

/** `diagnose --k8s --once`: one report; exit 1 when a finding is critical. */
export async function diagnoseK8sOnce(flags: DiagnoseK8sValues, io: CommandIo): Promise<K8sDiagnoseReport> {
  const cluster = connect(flags);
  await cluster.version();
  const report = await collectK8sDiagnose(cluster, flags);
  if (!io.json) {
    // Service-proxy URLs shortened to what names the object (`services/api:http/proxy/...`).
    const proxyBase = `${cluster.server}/api/v1/namespaces/${report.namespace}/`;
    const out: string[] = [
      `diagnose --k8s: namespace ${report.namespace} of ${cluster.label}: ${report.facts.pods} pods, ${report.facts.deployments} Deployments, ${report.facts.statefulsets} StatefulSets, ${report.facts.hpas} HPAs, ${report.facts.scaledObjects} ScaledObjects, ${report.facts.warningEvents} warning events (${report.ms} ms)`,
    ];
    for (const [name, c] of Object.entries(report.dataPlane?.components ?? {})) {
      out.push(`  data plane ${name}: ${c.ok ? `read from ${c.target}` : c.error}`);
    }
    if (report.findings.length === 0) out.push('No findings.');
    for (const f of report.findings) {
      out.push(`\n[${f.severity.toUpperCase()}] ${f.id}  ${f.object}: ${f.title}`);
      out.push(`  ${f.detail}`);
      out.push(`  fix: ${f.fix}`);
      out.push(`  source: ${f.source.guide} › ${f.source.section}`);
    }
    io.log(fitToTerminal(out.join('\n').split(proxyBase).join('')));
  }
  for (const s of report.skipped) io.warn(`not read: ${s}`);
  if (!report.healthy) {
    const critical = report.findings.filter((f) => f.severity === 'critical');
    throw new K8sCheckFailed(
      `${critical.length} critical finding(s): ${[...new Set(critical.map((f) => f.id))].join(', ')}.`,
      report,
      'Each finding above names its evidence, the fix and the guide section.',
      'CRITICAL_FINDINGS',
    );
  }
  return report;
}

/**
 * `diagnose --k8s` on a terminal: the interactive view with the Kubernetes pane (pods with status,
 * restarts and last termination; enter shows a pod's containers and events), refreshed every
 * `intervalMs`. Quitting is not a failure: exit 0, as the local view.
 */
export async function diagnoseK8sInteractive(flags: DiagnoseK8sValues, intervalMs: number): Promise<void> {
  const cluster = connect(flags);
  await cluster.version();
  const namespace = cluster.namespace;
  const [{ dataPlaneSession }, { K8sDiagnoseSource }, { TASK_QUEUE }] = await Promise.all([
    import('./dataplane.js'),
    import('./pods.js'),
    import('../services/rabbitmq/topology.js'),
  ]);
  const { session } = await dataPlaneSession(cluster, namespace, {
    databaseUrl: flags['database-url'],
    redisUrl: flags['redis-url'],
    components:
      flags['data-plane'] === false ? [] : (flags.components?.split(',') as ComponentName[] | undefined),
    timeoutMs: flags.timeout ?? 2000,
  });
  const source = new K8sDiagnoseSource(cluster, namespace, session);
  try {
    const { renderDiagnose } = await import('../diagnose/ui/index.js');
    await renderDiagnose(source, { intervalMs, taskQueue: TASK_QUEUE });
  } finally {
    await source.close();
  }
}
