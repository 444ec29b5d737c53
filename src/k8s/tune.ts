/**
 * `tune --k8s`: the cluster's live objects as the facts' source, and `tune check --k8s --manifests`'
 * drift between the Git manifests and the cluster (docs/k8s.md "Tuning from the cluster").
 *
 * The objects tune reads (Deployments, StatefulSets, HPAs, KEDA ScaledObjects and
 * TriggerAuthentications, ConfigMaps, Secrets) are listed in the namespace and turned into the same
 * in-memory manifest model a `--manifests` directory gives (src/manifests `treeFromTexts`), one
 * pseudo-file per object named `k8s:deployment/worker@sentinel`: every tune topic then reads them
 * with the readers it already has. Node allocatable comes from the cluster-wide Node list.
 *
 * Read-only: only GET and LIST requests are made; the cluster is never edited by tune. A kind the
 * user may not list (RBAC) is a warning naming the missing permission, and tune goes on without it.
 */
import { stringify } from 'yaml';
import type { FactBook } from '../facts/book.js';
import { cpuText } from '../facts/show.js';
import { type ManifestTree, parseQuantity, quantityEquals, treeFromTexts } from '../manifests/index.js';
import { isSecretKey, maskValue } from '../manifests/mask.js';
import { fact, formatCpu, formatMemory } from '../tuners/index.js';
import { type Cluster, K8sApiError, type K8sObject } from './client.js';

/** The kinds tune reads, in the order their facts are read. */
export const TUNE_KINDS: Array<{ apiVersion: string; kind: string; resource: string; holds: string }> = [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    resource: 'deployments.apps',
    holds: 'replicas, resources, env',
  },
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    resource: 'statefulsets.apps',
    holds: "PostgreSQL's, Redis' and RabbitMQ's settings",
  },
  {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    resource: 'horizontalpodautoscalers.autoscaling',
    holds: "the API's peak replicas",
  },
  {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    resource: 'scaledobjects.keda.sh',
    holds: 'KEDA facts',
  },
  {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'TriggerAuthentication',
    resource: 'triggerauthentications.keda.sh',
    holds: "the KEDA trigger's host",
  },
  { apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', holds: 'env and config files' },
  {
    apiVersion: 'v1',
    kind: 'Secret',
    resource: 'secrets',
    holds: 'values held in Secrets (DATABASE_URL pools, the KEDA host)',
  },
];

export interface NodeInfo {
  name: string;
  cpuMillicores?: number;
  memoryBytes?: number;
  pods?: number;
}

export interface ClusterRead {
  context: string;
  server: string;
  namespace: string;
  /** The live objects as a manifest tree (pseudo-files `k8s:kind/name@namespace`). */
  tree: ManifestTree;
  /** The live objects as the API server returned them (managedFields dropped), for the drift. */
  objects: K8sObject[];
  nodes: NodeInfo[];
  /** Kinds not read, each with why (a missing permission, a kind the cluster does not serve). */
  warnings: string[];
  notes: string[];
}

/** `k8s:deployment/worker@sentinel`: how a live object is named in facts and drift. */
export function liveName(o: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `k8s:${o.kind.toLowerCase()}/${o.metadata.name}${o.metadata.namespace ? `@${o.metadata.namespace}` : ''}`;
}

/** What the readers need of a live object: no status, no server bookkeeping. */
function asManifest(o: K8sObject): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = o;
  const annotations = { ...(metadata.annotations ?? {}) };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  return {
    ...rest,
    metadata: {
      name: metadata.name,
      ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
      ...(metadata.labels ? { labels: metadata.labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
  };
}

type Listed = { items: K8sObject[] } | { denied: string } | { unserved: string };

async function listKind(
  cluster: Cluster,
  apiVersion: string,
  kind: string,
  namespace: string | undefined,
): Promise<Listed> {
  try {
    return { items: await cluster.list<K8sObject>(apiVersion, kind, namespace) };
  } catch (error) {
    if (error instanceof K8sApiError && error.status === 403) return { denied: error.message };
    if (error instanceof K8sApiError && error.status === 404) return { unserved: `${kind} (${apiVersion})` };
    if ((error as { code?: string }).code === 'KIND_UNKNOWN') return { unserved: `${kind} (${apiVersion})` };
    throw cluster.explain(error, `list ${kind}${namespace ? ` in ${namespace}` : ''}`);
  }
}

/** Lists what tune reads in `namespace` (and the Nodes), and builds the manifest tree of it. */
export async function readCluster(cluster: Cluster, namespace: string): Promise<ClusterRead> {
  const warnings: string[] = [];
  const notes: string[] = [];
  const [lists, nodeList] = await Promise.all([
    Promise.all(TUNE_KINDS.map((k) => listKind(cluster, k.apiVersion, k.kind, namespace))),
    listKind(cluster, 'v1', 'Node', undefined),
  ]);
  const objects: K8sObject[] = [];
  TUNE_KINDS.forEach((k, i) => {
    const l = lists[i]!;
    if ('items' in l) {
      for (const o of l.items) {
        // A list's items carry no kind or apiVersion.
        const { managedFields: _m, ...metadata } = o.metadata;
        objects.push({
          ...o,
          apiVersion: k.apiVersion,
          kind: k.kind,
          metadata: metadata as K8sObject['metadata'],
        });
      }
    } else if ('denied' in l) {
      warnings.push(
        `not allowed to list ${k.resource} in namespace ${namespace} of ${cluster.label} (missing permission: list ${k.resource}); going on without ${k.holds}. Bind the sentinel-ctl-read role (docs/k8s.md "Permissions").`,
      );
    } else notes.push(`${cluster.label} does not serve ${l.unserved}: nothing of that kind is read`);
  });
  const nodes: NodeInfo[] = [];
  if ('items' in nodeList) {
    for (const n of nodeList.items) {
      const a = ((n.status as { allocatable?: Record<string, string> } | undefined)?.allocatable ??
        {}) as Record<string, string>;
      const cpu = parseQuantity(a.cpu);
      const mem = parseQuantity(a.memory);
      const pods = parseQuantity(a.pods);
      nodes.push({
        name: n.metadata.name,
        ...(cpu !== undefined ? { cpuMillicores: Math.round(cpu * 1000) } : {}),
        ...(mem !== undefined ? { memoryBytes: Math.round(mem) } : {}),
        ...(pods !== undefined ? { pods: Math.round(pods) } : {}),
      });
    }
  } else if ('denied' in nodeList) {
    warnings.push(
      `not allowed to list nodes of ${cluster.label} (missing permission: list nodes, cluster-wide); going on without node allocatable. Bind the sentinel-ctl-read ClusterRole (docs/k8s.md "Permissions").`,
    );
  }
  if (objects.length === 0 && warnings.length === 0) {
    warnings.push(
      `namespace ${namespace} of ${cluster.label} holds none of the objects tune reads (Deployments, StatefulSets, ConfigMaps…); pass -n with the namespace of the stack.`,
    );
  }
  const tree = treeFromTexts(
    objects.map((o) => ({ display: liveName(o), source: stringify(asManifest(o), { lineWidth: 0 }) })),
  );
  return {
    context: cluster.context,
    server: cluster.server,
    namespace,
    tree,
    objects,
    nodes,
    warnings,
    notes,
  };
}

/** The cluster and its nodes' allocatable, into the fact book (origin `k8s`). */
export function clusterFacts(book: FactBook, r: ClusterRead): void {
  book.show('k8s.context', `${r.context} (${r.server})`, 'k8s', `namespace ${r.namespace}`);
  if (r.nodes.length === 0) {
    if (!r.warnings.some((w) => w.includes('list nodes')))
      book.notes.push(`${r.context}: the cluster lists no Nodes; node allocatable is not known`);
    return;
  }
  const byCpu = [...r.nodes].sort((a, b) => (b.cpuMillicores ?? 0) - (a.cpuMillicores ?? 0));
  const shown = byCpu.slice(0, 5);
  for (const n of shown) {
    book.show(
      `node.${n.name}.allocatable`,
      `${n.cpuMillicores !== undefined ? cpuText(n.cpuMillicores) : '?'} CPU, ${n.memoryBytes !== undefined ? formatMemory(n.memoryBytes) : '?'} memory, ${n.pods ?? '?'} pods`,
      'k8s',
      `node/${n.name} status.allocatable`,
    );
  }
  if (r.nodes.length > shown.length)
    book.show('node.others', `${r.nodes.length - shown.length} more nodes`, 'k8s', 'Node list');
  const maxCpu = Math.max(...r.nodes.map((n) => n.cpuMillicores ?? 0));
  const maxMem = Math.max(...r.nodes.map((n) => n.memoryBytes ?? 0));
  const largest = (k: 'cpuMillicores' | 'memoryBytes', v: number) =>
    r.nodes.find((n) => n[k] === v)?.name ?? '?';
  if (maxCpu > 0)
    book.put(
      'nodes.maxAllocatable.cpuMillicores',
      fact(maxCpu, 'k8s', `node/${largest('cpuMillicores', maxCpu)} status.allocatable.cpu`),
      formatCpu,
    );
  if (maxMem > 0)
    book.put(
      'nodes.maxAllocatable.memoryBytes',
      fact(maxMem, 'k8s', `node/${largest('memoryBytes', maxMem)} status.allocatable.memory`),
      formatMemory,
    );
  // A worker pod that asks for more than any node can give stays Pending (deployment guide
  // "Troubleshooting > Pods Not Starting").
  const reqCpu = book.value<number>('worker.requests.cpuMillicores');
  const reqMem = book.value<number>('worker.requests.memoryBytes');
  if (reqCpu !== undefined && maxCpu > 0 && reqCpu > maxCpu)
    book.notes.push(
      `the worker requests ${formatCpu(reqCpu)} CPU but the largest node allocates ${formatCpu(maxCpu)}: its pods cannot be scheduled (deployment guide "Troubleshooting > Pods Not Starting")`,
    );
  if (reqMem !== undefined && maxMem > 0 && reqMem > maxMem)
    book.notes.push(
      `the worker requests ${formatMemory(reqMem)} memory but the largest node allocates ${formatMemory(maxMem)}: its pods cannot be scheduled (deployment guide "Troubleshooting > Pods Not Starting")`,
    );
}

// ---------------------------------------------------------------------------------------------
// Drift between the Git manifests and the cluster.

export interface DriftItem {
  /** `Deployment/worker`. */
  object: string;
  namespace: string;
  kind: 'field' | 'only-in-git' | 'only-in-cluster';
  /** The field that differs: `spec.replicas`, `data.WORKER_POOL_SIZE`, `…containers[worker].env[X].value`. */
  field?: string;
  /** Values as shown (Secret values and credentials masked); `(absent)` when a side has none. */
  git?: string;
  cluster?: string;
  /** Which side holds what tune recommends, when the field is a setting tune sizes. */
  recommends?: 'git' | 'cluster' | 'both' | 'neither';
  /** The tune setting (`WORKER_POOL_SIZE (worker)`) and its recommended value. */
  setting?: string;
  recommended?: string;
  /** Where the value lives, for matching with tune's rows: the object's names and the key. */
  match: { names: string[]; key: string };
}

const ABSENT = '(absent)';

/** Objects of the cluster no one writes in Git: made by controllers or by the API server itself. */
function bookkeeping(o: K8sObject): boolean {
  if ((o.metadata.ownerReferences as unknown[] | undefined)?.length) return true;
  if (
    o.kind === 'ConfigMap' &&
    (o.metadata.name === 'kube-root-ca.crt' || o.metadata.name === 'sentinel-ctl-inventory')
  )
    return true;
  const type = (o as { type?: string }).type;
  return (
    o.kind === 'Secret' &&
    (type === 'kubernetes.io/service-account-token' || type?.startsWith('helm.sh/') === true)
  );
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function scalarText(v: unknown): string {
  return v === undefined ? ABSENT : typeof v === 'string' ? v : JSON.stringify(v);
}

function same(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (String(a) === String(b)) return true;
  if ((typeof a === 'string' || typeof a === 'number') && (typeof b === 'string' || typeof b === 'number'))
    return parseQuantity(a) !== undefined && parseQuantity(b) !== undefined && quantityEquals(a, b);
  return JSON.stringify(a) === JSON.stringify(b);
}

interface WalkCtx {
  object: string;
  namespace: string;
  names: string[];
  out: DriftItem[];
}

function push(ctx: WalkCtx, field: string, key: string, git: unknown, live: unknown, secret: boolean): void {
  const show = (v: unknown) => (v === undefined ? ABSENT : maskValue(scalarText(v), secret));
  ctx.out.push({
    object: ctx.object,
    namespace: ctx.namespace,
    kind: 'field',
    field,
    git: show(git),
    cluster: show(live),
    match: { names: ctx.names, key },
  });
}

/** Compares the fields Git sets with the cluster's; fields only the cluster has (defaults) are not drift. */
function walk(ctx: WalkCtx, git: unknown, live: unknown, at: string, key: string, secret: boolean): void {
  if (isObj(git)) {
    const l = isObj(live) ? live : {};
    for (const [k, v] of Object.entries(git)) {
      // An env entry's value under a credential-looking name is masked as a Secret's.
      walk(ctx, v, l[k], `${at}.${k}`, k === 'value' ? key : k, secret);
    }
    return;
  }
  if (Array.isArray(git)) {
    const l = Array.isArray(live) ? live : [];
    // Lists of maps are matched by their merge key, as strategic merge patch does.
    const mk = at.endsWith('.volumeMounts') ? 'mountPath' : at.endsWith('.ports') ? 'containerPort' : 'name';
    const keys = git.map((x) => (isObj(x) ? x[mk] : undefined));
    const named =
      git.length > 0 &&
      keys.every((k) => typeof k === 'string' || typeof k === 'number') &&
      new Set(keys).size === keys.length;
    if (named) {
      const byName = new Map(l.filter(isObj).map((x) => [String(x[mk]), x]));
      for (const g of git as Array<Record<string, unknown>>) {
        const n = String(g[mk]);
        const lv = byName.get(n);
        const s = secret || (at.endsWith('.env') && isSecretKey(n));
        if (!lv) push(ctx, `${at}[${n}]`, n, 'set', undefined, false);
        else walk(ctx, g, lv, `${at}[${n}]`, n, s);
      }
      const gitNames = new Set(keys.map(String));
      for (const x of l.filter(isObj)) {
        const n = String(x[mk]);
        if (!gitNames.has(n)) push(ctx, `${at}[${n}]`, n, undefined, 'set', false);
      }
      return;
    }
    if (git.every((x) => !isObj(x) && !Array.isArray(x))) {
      // Arguments and other lists of scalars: compared whole, shown as one line.
      if (git.length !== l.length || git.some((x, i) => !same(x, l[i]))) {
        const text = (a: unknown[]) => a.map((x) => scalarText(x)).join(' ');
        push(ctx, at, key, text(git), live === undefined ? undefined : text(l), secret);
      }
      return;
    }
    git.forEach((g, i) => {
      walk(ctx, g, l[i], `${at}[${i}]`, key, secret);
    });
    return;
  }
  if (!same(git, live)) push(ctx, at, key, git, live, secret);
}

/** The values of a ConfigMap's or Secret's keys as text (Secret data decoded, stringData merged). */
function dataOf(o: K8sObject): Record<string, string> {
  const out: Record<string, string> = {};
  const data = (o.data ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(data))
    out[k] = o.kind === 'Secret' ? Buffer.from(String(v), 'base64').toString('utf8') : String(v);
  for (const [k, v] of Object.entries((o.stringData ?? {}) as Record<string, unknown>)) out[k] = String(v);
  return out;
}

function dataDrift(ctx: WalkCtx, git: K8sObject, live: K8sObject): void {
  const secret = git.kind === 'Secret';
  const g = dataOf(git);
  const l = dataOf(live);
  for (const key of new Set([...Object.keys(g), ...Object.keys(l)])) {
    const gv = g[key];
    const lv = l[key];
    if (gv === lv) continue;
    const hidden = secret || isSecretKey(key);
    if (gv !== undefined && lv !== undefined && (gv.includes('\n') || lv.includes('\n'))) {
      // A config file: the lines that differ, each with its line number in the Git text.
      const gl = gv.split('\n');
      const ll = lv.split('\n');
      const n = Math.max(gl.length, ll.length);
      let shown = 0;
      for (let i = 0; i < n && shown < 5; i++) {
        if (gl[i] === ll[i]) continue;
        shown++;
        const line = (gl[i] ?? ll[i] ?? '').trim();
        const setting = /^([A-Za-z_][\w.-]*)\s*[=\s]/.exec(line)?.[1] ?? key;
        push(ctx, `data.${key}:${i + 1}`, setting, gl[i]?.trim(), ll[i]?.trim(), hidden);
      }
      continue;
    }
    push(ctx, `data.${key}`, key, gv, lv, hidden);
  }
}

const keyOf = (o: { kind: string; metadata: { name: string; namespace?: string } }, ns: string) =>
  `${o.kind}/${o.metadata.namespace ?? ns}/${o.metadata.name}`;

/**
 * Drift between the Git objects and the cluster's, in `namespace`, for the kinds tune reads: each
 * field Git sets that the cluster holds otherwise, ConfigMap/Secret keys on either side only, and
 * objects on one side only. Values are masked as in every tune output.
 */
export function driftOf(git: K8sObject[], live: K8sObject[], namespace: string): DriftItem[] {
  const kinds = new Set(TUNE_KINDS.map((k) => k.kind));
  const gitObjs = git.filter((o) => kinds.has(o.kind) && (o.metadata.namespace ?? namespace) === namespace);
  const liveByKey = new Map(live.map((o) => [keyOf(o, namespace), o]));
  const gitKeys = new Set(gitObjs.map((o) => keyOf(o, namespace)));
  const out: DriftItem[] = [];
  for (const g of gitObjs) {
    const object = `${g.kind}/${g.metadata.name}`;
    const l = liveByKey.get(keyOf(g, namespace));
    if (!l) {
      out.push({ object, namespace, kind: 'only-in-git', match: { names: [], key: '' } });
      continue;
    }
    const ctx: WalkCtx = {
      object,
      namespace,
      // How tune's facts name this object: the live pseudo-file, and `ConfigMap name` for env refs.
      names: [liveName(l).slice(4), `${g.kind} ${g.metadata.name}`],
      out,
    };
    if (g.kind === 'ConfigMap' || g.kind === 'Secret') dataDrift(ctx, g, l);
    else walk(ctx, g.spec, l.spec, 'spec', 'spec', false);
  }
  for (const l of live) {
    if (gitKeys.has(keyOf(l, namespace)) || bookkeeping(l)) continue;
    out.push({
      object: `${l.kind}/${l.metadata.name}`,
      namespace,
      kind: 'only-in-cluster',
      match: { names: [], key: '' },
    });
  }
  return out;
}
