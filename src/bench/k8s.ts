/**
 * `bench --k8s --shards N` (docs/bench.md "Shards, and running them on Kubernetes"): the shards of
 * one test run as an Indexed Job in the cluster, each pod writes its JSON report into a ConfigMap,
 * and this process (the coordinator) waits for them, merges them exactly (src/bench/report/model.ts
 * mergeReports) and judges the thresholds like a local run.
 *
 * Objects of one run, all labelled `sentinel-ctl/bench-run=<id>`:
 * - ServiceAccount, Role and RoleBinding `sentinel-bench-<id>`: the Role lets the shards create
 *   ConfigMaps (RBAC cannot name an object for create) and update only their own report ConfigMaps;
 * - Job `sentinel-bench-<id>`: completionMode Indexed, completions = parallelism = N, backoffLimit 0
 *   (a retried shard would start after the others), activeDeadlineSeconds so an orphaned Job stops;
 *   pod command `sentinel-ctl bench <the same flags> --shards N --k8s-shard <id> --start-at <ms>`;
 *   the pod's JOB_COMPLETION_INDEX (0-based) selects `--shard index+1/N`;
 * - Secret `sentinel-bench-<id>`, only for a scenario file's `${env.NAME}` values (secretKeyRef);
 * - ConfigMap `sentinel-bench-<id>-<i>` per shard: binaryData `report.json.gz` (gzip, base64 in
 *   the API), or data `error` when the shard could not store its report.
 * Cleanup deletes them all (the Job with propagationPolicy Background, its pods with it), also on
 * Ctrl-C and on failure, unless --keep.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type AccessNeed, missingAccess } from '../k8s/access.js';
import { type Cluster, connectCluster, isNotFound, K8sApiError } from '../k8s/client.js';
import {
  describeError,
  EnvironmentError,
  InterruptedError,
  SentinelError,
  UserError,
} from '../lib/errors.js';
import { type BenchInput, parseStartAt, resolvePlan } from './cli.js';
import {
  type BenchReport,
  type BenchResult,
  checkMergeable,
  mergeReports,
  REPORT_FORMAT,
  toResult,
} from './report/model.js';
import { parseOutput, writeOutputs } from './report/write.js';
import { stagesDuration } from './stages.js';

export const RUN_LABEL = 'sentinel-ctl/bench-run';
export const SHARD_LABEL = 'sentinel-ctl/bench-shard';
const MANAGED = {
  'app.kubernetes.io/managed-by': 'sentinel-ctl',
  'app.kubernetes.io/name': 'sentinel-bench',
};
/** The key of the gzipped report in a shard's ConfigMap. */
export const REPORT_KEY = 'report.json.gz';
/**
 * A ConfigMap holds at most 1 MiB of data (keys and values; binaryData counts its decoded bytes).
 * The report must leave room for the key and the metadata.
 */
export const REPORT_LIMIT = 1_000_000;
/** Where the coordinator ships a scenario file to the pods (env var of the container). */
export const SCENARIO_ENV = 'SENTINEL_BENCH_SCENARIO';
const SCENARIO_NAME_ENV = 'SENTINEL_BENCH_SCENARIO_NAME';

type EnvVar =
  | { name: string; value: string }
  | { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } };

/** The `${env.NAME}` variables a scenario file uses, with their values here (those that are set). */
export function scenarioEnv(text: string, env = process.env): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/\$\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}/g)) {
    const v = env[m[1]!];
    if (v !== undefined) out[m[1]!] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export const runName = (runId: string) => `sentinel-bench-${runId}`;
export const reportName = (runId: string, index: number) => `${runName(runId)}-${index}`;

/** Flags of `bench` that describe the test itself and are forwarded to every shard unchanged. */
const FORWARDED = [
  'scenario',
  'base-url',
  'method',
  'header',
  'body',
  'expect',
  'model',
  'vus',
  'rate',
  'stages',
  'duration',
  'iterations',
  'max-vus',
  'connections',
  'warmup',
  'workers',
  'graceful-stop',
  'timeout',
  'poll-interval',
  'threshold',
  'preset',
] as const satisfies ReadonlyArray<keyof BenchInput>;

/** The shard's argv after `bench`: the test's flags as given, in a stable order. */
export function forwardedArgs(input: BenchInput): string[] {
  const out: string[] = input.target ? [input.target] : [];
  for (const k of FORWARDED) {
    const v = input[k];
    if (v === undefined) continue;
    if (k === 'method' && v === 'GET') continue;
    if (k === 'workers' && v === 1) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push(`--${k}`, String(one));
  }
  if (!input.prime) out.push('--no-prime');
  return out;
}

// ---------------------------------------------------------------------------------------------
// In the pod: the shard's side.

/** `--k8s-shard`: the shard index from the Job's completion index (JOB_COMPLETION_INDEX, 0-based). */
export function shardFromEnv(count: number, env = process.env): string {
  const raw = env.JOB_COMPLETION_INDEX;
  const index = Number(raw);
  if (raw === undefined || raw === '' || !Number.isInteger(index) || index < 0 || index >= count)
    throw new EnvironmentError(
      `--k8s-shard needs JOB_COMPLETION_INDEX between 0 and ${count - 1} (got ${raw ?? 'none'}).`,
      {
        code: 'NO_COMPLETION_INDEX',
        suggestion:
          'This flag is for the pods of the Indexed Job that `bench --k8s --shards N` creates; run shards by hand with --shard i/N.',
      },
    );
  return `${index + 1}/${count}`;
}

/** A scenario file shipped by the coordinator in the pod's environment, written to a file for the shard. */
export function scenarioFromEnv(env = process.env): string | undefined {
  const text = env[SCENARIO_ENV];
  if (!text) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-bench-'));
  const file = path.join(dir, path.basename(env[SCENARIO_NAME_ENV] || 'scenario.yaml'));
  writeFileSync(file, text);
  return file;
}

function reportConfigMap(runId: string, index: number, content: { report?: Buffer; error?: string }) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: reportName(runId, index),
      labels: { ...MANAGED, [RUN_LABEL]: runId, [SHARD_LABEL]: String(index) },
    },
    ...(content.report ? { binaryData: { [REPORT_KEY]: content.report.toString('base64') } } : {}),
    ...(content.error ? { data: { error: content.error } } : {}),
  };
}

/** Creates the shard's ConfigMap, or replaces it (a pod run again); the Role allows exactly these two. */
async function putConfigMap(cluster: Cluster, body: ReturnType<typeof reportConfigMap>): Promise<void> {
  const base = `/api/v1/namespaces/${cluster.namespace}/configmaps`;
  try {
    await cluster.request('POST', base, { body });
  } catch (error) {
    if (!(error instanceof K8sApiError && error.status === 409)) throw error;
    await cluster.request('PUT', `${base}/${body.metadata.name}`, { body });
  }
}

/** The report gzipped for its ConfigMap, or why it cannot be stored (over `limit` bytes). */
export function encodeReport(
  report: BenchReport,
  limit = REPORT_LIMIT,
): { gz: Buffer; error?: undefined } | { gz?: undefined; error: string } {
  const gz = gzipSync(JSON.stringify(report), { level: 9 });
  if (gz.length <= limit) return { gz };
  return {
    error: `the report of shard ${report.shard?.index ?? 1} is ${gz.length} bytes gzipped, over the ${limit}-byte limit of a ConfigMap (1 MiB)`,
  };
}

/** The report stored in a shard's ConfigMap (binaryData as the API returns it: base64). */
export function decodeReportData(base64: string): BenchReport {
  return JSON.parse(gunzipSync(Buffer.from(base64, 'base64')).toString('utf8'));
}

/**
 * Stores a shard's report in its ConfigMap (gzip). A report over the ConfigMap limit is refused
 * (exit 3) and the ConfigMap says why, so the coordinator can name the cause instead of waiting.
 */
export async function storeShardReport(
  report: BenchReport,
  runId: string,
  o: { kubeconfig?: string; context?: string; namespace?: string } = {},
): Promise<{ name: string; namespace: string; bytes: number }> {
  const cluster = connectCluster(o);
  const index = report.shard?.index ?? 1;
  const encoded = encodeReport(report);
  const name = reportName(runId, index);
  try {
    if (encoded.error !== undefined) {
      await putConfigMap(cluster, reportConfigMap(runId, index, { error: encoded.error }));
      throw new EnvironmentError(`Cannot store the report: ${encoded.error}.`, {
        code: 'REPORT_TOO_LARGE',
        suggestion:
          'Fewer request names or a shorter run make the report smaller (its size grows with names × seconds); or run more shards.',
      });
    }
    await putConfigMap(cluster, reportConfigMap(runId, index, { report: encoded.gz }));
  } catch (error) {
    if (error instanceof SentinelError) throw error;
    throw cluster.explain(error, `store ConfigMap ${name} in namespace ${cluster.namespace}`);
  }
  return { name, namespace: cluster.namespace, bytes: encoded.gz.length };
}

// ---------------------------------------------------------------------------------------------
// The coordinator.

export interface K8sBenchOptions {
  shards: number;
  image: string;
  keep: boolean;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  /** How long to wait for the reports after the schedule's planned end (ms). */
  waitTimeoutMs: number;
}

export interface K8sRunInfo {
  runId: string;
  namespace: string;
  context: string;
  job: string;
  shards: number;
  image: string;
  startAt: string;
  /** Objects left in the cluster (--keep, or a cleanup that failed). */
  kept: string[];
}

export type K8sBenchResult = BenchResult & { k8s: K8sRunInfo };

export interface K8sBenchIo {
  json: boolean;
  /** Transient progress (stderr, text mode only). */
  progress: (line: string) => void;
  note: (line: string) => void;
}

/** The objects of one run, in creation order (the Job last, once its ServiceAccount may act). */
export function runObjects(o: {
  runId: string;
  namespace: string;
  shards: number;
  image: string;
  args: string[];
  env: EnvVar[];
  /** ${env.NAME} values of a scenario file, for the pods' environment. */
  secret?: Record<string, string>;
  activeDeadlineSeconds: number;
}) {
  const name = runName(o.runId);
  const labels = { ...MANAGED, [RUN_LABEL]: o.runId };
  const metadata = { name, namespace: o.namespace, labels };
  const reports = Array.from({ length: o.shards }, (_, i) => reportName(o.runId, i + 1));
  return [
    ...(o.secret
      ? [{ apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', stringData: o.secret }]
      : []),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata, automountServiceAccountToken: true },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: [
        // RBAC cannot restrict create to names; update is limited to the shards' own ConfigMaps.
        { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['update'], resourceNames: reports },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: o.namespace }],
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata,
      spec: {
        completionMode: 'Indexed',
        completions: o.shards,
        parallelism: o.shards,
        backoffLimit: 0,
        activeDeadlineSeconds: o.activeDeadlineSeconds,
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            restartPolicy: 'Never',
            containers: [
              {
                name: 'shard',
                image: o.image,
                command: ['sentinel-ctl'],
                args: o.args,
                env: [{ name: 'CI', value: 'true' }, ...o.env],
              },
            ],
          },
        },
      },
    },
  ];
}

const collection: Record<string, string> = {
  Secret: 'api/v1/namespaces/%/secrets',
  ServiceAccount: 'api/v1/namespaces/%/serviceaccounts',
  Role: 'apis/rbac.authorization.k8s.io/v1/namespaces/%/roles',
  RoleBinding: 'apis/rbac.authorization.k8s.io/v1/namespaces/%/rolebindings',
  Job: 'apis/batch/v1/namespaces/%/jobs',
  ConfigMap: 'api/v1/namespaces/%/configmaps',
  Pod: 'api/v1/namespaces/%/pods',
  Event: 'api/v1/namespaces/%/events',
};
const pathOf = (kind: string, ns: string, name?: string) =>
  `/${collection[kind]!.replace('%', ns)}${name ? `/${encodeURIComponent(name)}` : ''}`;

interface JobStatus {
  active?: number;
  succeeded?: number;
  failed?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}
interface PodLike {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: {
    phase?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    containerStatuses?: Array<{
      state?: {
        waiting?: { reason?: string; message?: string };
        terminated?: { reason?: string; exitCode?: number; message?: string };
      };
    }>;
  };
}
interface EventLike {
  type?: string;
  reason?: string;
  message?: string;
  involvedObject?: { kind?: string; name?: string };
  lastTimestamp?: string;
  eventTime?: string;
}
interface ConfigMapLike {
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

const INDEX_KEY = 'batch.kubernetes.io/job-completion-index';

function podIndex(p: PodLike): number | undefined {
  const v = p.metadata.labels?.[INDEX_KEY] ?? p.metadata.annotations?.[INDEX_KEY];
  return v === undefined ? undefined : Number(v) + 1;
}

/** One pod in a few words: phase, then the container's waiting/terminated reason, or why unscheduled. */
export function podState(p: PodLike): string {
  const st = p.status ?? {};
  const c = st.containerStatuses?.[0]?.state;
  if (c?.waiting?.reason) return `${c.waiting.reason}${c.waiting.message ? ` (${c.waiting.message})` : ''}`;
  if (c?.terminated)
    return `${c.terminated.reason ?? 'terminated'} exit ${c.terminated.exitCode ?? '?'}${c.terminated.message ? ` (${c.terminated.message})` : ''}`;
  const unscheduled = st.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False');
  if (unscheduled)
    return `${unscheduled.reason ?? 'Unschedulable'}${unscheduled.message ? ` (${unscheduled.message})` : ''}`;
  return st.phase ?? 'Pending';
}

/** Pods grouped by state, e.g. "shards 1,2 Running; shard 3 ImagePullBackOff" (one line for many shards). */
export function podSummary(pods: PodLike[]): string {
  const byState = new Map<string, number[]>();
  for (const p of pods) {
    const s = podState(p);
    byState.set(s, [...(byState.get(s) ?? []), podIndex(p) ?? 0]);
  }
  return [...byState]
    .map(([s, ix]) => {
      const sorted = ix.sort((a, b) => a - b).map((i) => (i ? String(i) : '?'));
      return `${sorted.length > 1 ? 'shards' : 'shard'} ${sorted.join(',')} ${s}`;
    })
    .join('; ');
}

function jobLine(j: JobStatus | undefined): string {
  if (!j) return 'Job not found';
  const cond = (j.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type);
  return `Job: ${j.active ?? 0} active, ${j.succeeded ?? 0} succeeded, ${j.failed ?? 0} failed${cond.length ? ` (${cond.join(', ')})` : ''}`;
}

/** Sleep that an interrupt cuts short. */
function sleep(ms: number, wake: { fn?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    wake.fn = () => {
      clearTimeout(t);
      resolve();
    };
  });
}

/**
 * Runs the test as an Indexed Job: creates the objects, waits with live progress, merges the
 * shards' reports and returns the merged report; cleans up (unless --keep) whatever happens.
 */
export async function runK8sBench(
  input: BenchInput,
  o: K8sBenchOptions,
  io: K8sBenchIo,
  defaultApiUrl: () => string,
): Promise<{ report: BenchReport; result: K8sBenchResult; written: string[] }> {
  if (input.shard)
    throw new UserError('--shards (a Job of N shards) and --shard i/N (one shard) exclude each other.', {
      suggestion: 'sentinel-ctl bench URL --rate 1000 -d 1m --k8s --shards 2',
    });
  // Everything the shards would refuse is refused here first (exit 2), before anything is created.
  const plan = await resolvePlan(input, defaultApiUrl);
  const outputs = (input.out ?? []).map(parseOutput);
  const startAt = parseStartAt(input['start-at'] ?? '+30s');
  const env: EnvVar[] = [];
  let secret: Record<string, string> | undefined;
  const shardInput: BenchInput = { ...input };
  if (plan.scenario.spec.kind === 'sentinel' && !input['base-url'])
    // The local API port means nothing in a pod: say where the API is.
    shardInput['base-url'] = plan.scenario.spec.baseUrl;
  if (plan.scenario.file) {
    // A scenario file travels in the pod's environment; shipped scenarios are in the image.
    const text = readFileSync(plan.scenario.file, 'utf8');
    env.push({ name: SCENARIO_ENV, value: text });
    env.push({ name: SCENARIO_NAME_ENV, value: path.basename(plan.scenario.file) });
    shardInput.scenario = undefined;
    // ${env.NAME} of the scenario (credentials, typically): in a Secret, not in the Job's spec.
    secret = scenarioEnv(text);
  }
  const target = new URL(plan.scenario.spec.baseUrl);
  if (/^(127\.|localhost$|\[::1\]$)/.test(target.hostname))
    io.note(
      `The target ${target.origin} is a loopback address: in a pod that is the pod itself. Give an address the pods reach (a Service name, --base-url).`,
    );
  const cluster = connectCluster({ kubeconfig: o.kubeconfig, context: o.context, namespace: o.namespace });
  await cluster.version();
  const ns = cluster.namespace;
  await requireBenchAccess(cluster, secret !== undefined);
  const runId = randomBytes(3).toString('hex');
  const name = runName(runId);
  for (const key of Object.keys(secret ?? {}))
    env.push({ name: key, valueFrom: { secretKeyRef: { name, key } } });
  const plannedEnd =
    startAt + plan.load.warmupMs + stagesDuration(plan.load.stages) + plan.load.gracefulStopMs;
  const deadline = plannedEnd + o.waitTimeoutMs;
  const args = [
    'bench',
    ...forwardedArgs(shardInput),
    '--shards',
    String(o.shards),
    '--k8s-shard',
    runId,
    '--start-at',
    String(startAt),
    '--progress',
    'plain',
  ];
  const objects = runObjects({
    runId,
    namespace: ns,
    shards: o.shards,
    image: o.image,
    args,
    env,
    secret,
    activeDeadlineSeconds: Math.ceil((deadline - Date.now()) / 1000) + 60,
  });
  const info: K8sRunInfo = {
    runId,
    namespace: ns,
    context: cluster.context,
    job: name,
    shards: o.shards,
    image: o.image,
    startAt: new Date(startAt).toISOString(),
    kept: [],
  };

  let interrupted = false;
  const wake: { fn?: () => void } = {};
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    io.progress('Interrupted: deleting the run’s objects...');
    wake.fn?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const created: Array<{ kind: string; name: string }> = [];
  try {
    for (const obj of objects) {
      if (interrupted) break;
      await cluster.request('POST', pathOf(obj.kind, ns), { body: obj }).catch((error) => {
        throw cluster.explain(error, `create ${obj.kind} ${name} in namespace ${ns}`);
      });
      created.push({ kind: obj.kind, name });
    }
    if (!interrupted)
      io.progress(
        `Job ${name} (${o.shards} shards, image ${o.image}) created in namespace ${ns} of ${cluster.label}; the shards start at ${info.startAt}.`,
      );
    const reports = await waitForReports(cluster, {
      runId,
      shards: o.shards,
      deadline,
      interrupted: () => interrupted,
      wake,
      io,
    });
    const report = mergeReports(reports);
    const written = writeOutputs(outputs, report);
    return { report, result: { ...toResult(report), k8s: info }, written };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (o.keep) {
      info.kept = [...created.map((c) => `${c.kind}/${c.name}`), `ConfigMaps -l ${RUN_LABEL}=${runId}`];
      io.note(
        `Kept the run's objects in namespace ${ns} (--keep): kubectl -n ${ns} delete job,sa,role,rolebinding,secret,configmap -l ${RUN_LABEL}=${runId}`,
      );
    } else {
      const left = await cleanup(cluster, ns, runId, created);
      info.kept = left;
      if (left.length > 0)
        io.note(
          `Could not delete ${left.join(', ')}: kubectl -n ${ns} delete job,sa,role,rolebinding,secret,configmap -l ${RUN_LABEL}=${runId}`,
        );
    }
  }
}

/**
 * What the coordinator does in namespace `ns`, and nothing more: the `sentinel-ctl-bench` Role of
 * rbac/sentinel-ctl.yaml (`generate k8s`) grants exactly these. Creating the run's Role needs the
 * rights it grants (RBAC's escalation check): `create` and `update` on ConfigMaps.
 */
export function benchAccessNeeds(ns: string, secret: boolean): AccessNeed[] {
  const need = (verb: string, apiVersion: string, kinds: string[]): AccessNeed[] =>
    kinds.map((kind) => ({ verb, apiVersion, kind, namespace: ns }));
  const rbac = 'rbac.authorization.k8s.io/v1';
  return [
    ...need('create', 'v1', ['ServiceAccount', 'ConfigMap']),
    ...need('delete', 'v1', ['ServiceAccount']),
    ...need('update', 'v1', ['ConfigMap']),
    ...need('list', 'v1', ['ConfigMap', 'Pod', 'Event']),
    ...need('deletecollection', 'v1', ['ConfigMap', 'Pod']),
    ...need('create', rbac, ['Role', 'RoleBinding']),
    ...need('delete', rbac, ['Role', 'RoleBinding']),
    ...need('create', 'batch/v1', ['Job']),
    ...need('get', 'batch/v1', ['Job']),
    ...need('delete', 'batch/v1', ['Job']),
    ...(secret ? [...need('create', 'v1', ['Secret']), ...need('delete', 'v1', ['Secret'])] : []),
  ];
}

/** Asked before anything is created: exit 3 naming all that is missing. */
async function requireBenchAccess(cluster: Cluster, secret: boolean): Promise<void> {
  const missing = await missingAccess(cluster, benchAccessNeeds(cluster.namespace, secret));
  if (missing.length === 0) return;
  throw new EnvironmentError(
    `bench --k8s refused: the user of ${cluster.label} may not ${missing.join('; ')}. Nothing was created.`,
    {
      code: 'FORBIDDEN',
      suggestion: `Bind the sentinel-ctl-bench role that \`sentinel-ctl generate k8s\` writes in rbac/sentinel-ctl.yaml, in namespace ${cluster.namespace} (docs/k8s.md "Permissions").`,
    },
  );
}

/** Polls every second until every shard reported; throws on a failed Job, a shard's error, Ctrl-C or the deadline. */
async function waitForReports(
  cluster: Cluster,
  w: {
    runId: string;
    shards: number;
    deadline: number;
    interrupted: () => boolean;
    wake: { fn?: () => void };
    io: K8sBenchIo;
  },
): Promise<BenchReport[]> {
  const ns = cluster.namespace;
  const name = runName(w.runId);
  let last = '';
  for (;;) {
    if (w.interrupted())
      throw new InterruptedError('Interrupted: the Job and its objects were deleted; no report.', {
        suggestion: 'Run it again; --keep keeps the objects for a look with kubectl.',
      });
    const [cms, job, pods] = await Promise.all([
      cluster.request<{ items: ConfigMapLike[] }>('GET', pathOf('ConfigMap', ns), {
        query: { labelSelector: `${RUN_LABEL}=${w.runId}` },
      }),
      cluster.request<{ status?: JobStatus }>('GET', pathOf('Job', ns, name)).catch((error) => {
        if (isNotFound(error)) return undefined;
        throw error;
      }),
      cluster.request<{ items: PodLike[] }>('GET', pathOf('Pod', ns), {
        query: { labelSelector: `batch.kubernetes.io/job-name=${name}` },
      }),
    ]).catch((error) => {
      throw cluster.explain(error, `watch Job ${name} in namespace ${ns}`);
    });
    const byShard = new Map<number, ConfigMapLike>();
    for (const cm of cms.items) byShard.set(Number(cm.metadata.labels?.[SHARD_LABEL]), cm);
    const errors = [...byShard].filter(([, cm]) => cm.data?.error);
    if (errors.length > 0)
      throw new EnvironmentError(
        `Shard ${errors.map(([i, cm]) => `${i}/${w.shards}: ${cm.data!.error}`).join('; ')}.`,
        {
          code: 'SHARD_FAILED',
          suggestion:
            'Fewer request names, a shorter run or more shards make each report smaller (docs/bench.md "Shards, and running them on Kubernetes").',
        },
      );
    const reported = [...byShard].filter(([, cm]) => cm.binaryData?.[REPORT_KEY]).map(([i]) => i);
    const podText = podSummary(pods.items);
    const line = `shards reported ${reported.length}/${w.shards}; ${jobLine(job?.status)}${podText ? `; pods: ${podText}` : ''}`;
    if (line !== last) w.io.progress(line);
    last = line;
    if (reported.length === w.shards) {
      return [...byShard.values()]
        .sort((a, b) => Number(a.metadata.labels?.[SHARD_LABEL]) - Number(b.metadata.labels?.[SHARD_LABEL]))
        .map((cm) => decodeReport(cm));
    }
    const failed = job?.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    const timedOut = Date.now() > w.deadline;
    if (failed || timedOut || !job) {
      const missing = Array.from({ length: w.shards }, (_, i) => i + 1).filter((i) => !reported.includes(i));
      const why = await whyMissing(cluster, name, missing, pods.items);
      const cause = !job
        ? `Job ${name} disappeared`
        : failed
          ? `Job ${name} failed (${failed.reason ?? 'Failed'}${failed.message ? `: ${failed.message}` : ''})`
          : `No report from ${missing.length} of ${w.shards} shards by ${new Date(w.deadline).toISOString()}`;
      throw new EnvironmentError(`${cause}. Missing: ${why.join('; ')}.`, {
        code: failed || !job ? 'JOB_FAILED' : 'SHARDS_TIMEOUT',
        suggestion: `Look at the pods with \`kubectl -n ${ns} describe pods -l batch.kubernetes.io/job-name=${name}\` (use --keep to keep them); --wait-timeout waits longer.`,
      });
    }
    await sleep(1000, w.wake);
  }
}

/** For each missing shard: its pod's state and the latest warning events, or that no pod exists. */
async function whyMissing(cluster: Cluster, job: string, missing: number[], pods: PodLike[]) {
  const ns = cluster.namespace;
  const events = await cluster
    .request<{ items: EventLike[] }>('GET', pathOf('Event', ns))
    .then((r) => r.items)
    .catch(() => [] as EventLike[]);
  const eventsOf = (kind: string, n: string) =>
    events
      .filter((e) => e.involvedObject?.kind === kind && e.involvedObject?.name === n && e.type !== 'Normal')
      .slice(-2)
      .map((e) => `${e.reason}: ${e.message}`);
  const jobEvents = eventsOf('Job', job);
  return missing.map((i) => {
    const mine = pods.filter((p) => podIndex(p) === i);
    if (mine.length === 0)
      return `shard ${i}: no pod${jobEvents.length ? ` (Job events: ${jobEvents.join(' | ')})` : ' (nothing in the cluster created one: is the Job controller running?)'}`;
    return mine
      .map((p) => {
        const ev = eventsOf('Pod', p.metadata.name);
        return `shard ${i}: pod ${p.metadata.name} ${podState(p)}${ev.length ? ` (events: ${ev.join(' | ')})` : ''}`;
      })
      .join('; ');
  });
}

function decodeReport(cm: ConfigMapLike): BenchReport {
  const raw = cm.binaryData![REPORT_KEY]!;
  let report: BenchReport;
  try {
    report = decodeReportData(raw);
  } catch (error) {
    throw new EnvironmentError(
      `ConfigMap ${cm.metadata.name} holds no readable report: ${describeError(error)}`,
      {
        code: 'REPORT',
      },
    );
  }
  if (report.format !== REPORT_FORMAT)
    throw new EnvironmentError(
      `ConfigMap ${cm.metadata.name} holds a report of format ${report.format}, not ${REPORT_FORMAT}: the image runs another sentinel-ctl version.`,
      { code: 'REPORT', suggestion: 'Give --image the sentinel-ctl version you run here.' },
    );
  checkMergeable([report], [cm.metadata.name]);
  return report;
}

/** Deletes the run's objects; returns those that could not be deleted. */
async function cleanup(
  cluster: Cluster,
  ns: string,
  runId: string,
  created: Array<{ kind: string; name: string }>,
): Promise<string[]> {
  const left: string[] = [];
  const del = async (urlPath: string, what: string, query?: Record<string, string>) => {
    try {
      await cluster.request('DELETE', urlPath, { query });
    } catch (error) {
      if (!isNotFound(error)) left.push(`${what} (${describeError(error)})`);
    }
  };
  // The Job first (its pods go with it), then what let the shards act, then the reports.
  for (const c of [...created].reverse())
    await del(
      pathOf(c.kind, ns, c.name),
      `${c.kind}/${c.name}`,
      c.kind === 'Job' ? { propagationPolicy: 'Background' } : undefined,
    );
  // Pods the garbage collector has not removed yet (or a cluster without one), and the reports.
  await del(pathOf('Pod', ns), 'pods', { labelSelector: `batch.kubernetes.io/job-name=${runName(runId)}` });
  await del(pathOf('ConfigMap', ns), 'ConfigMaps', { labelSelector: `${RUN_LABEL}=${runId}` });
  return left;
}
