/**
 * Gathering the facts the tune commands work from, each source optional and combinable: flags,
 * manifests (`--manifests`, `--dotenv`), the live stack (`--live`), the container this runs in
 * (cgroup v1/v2) and the host. Sources go into one FactBook in precedence order, so every value in
 * the output carries where it came from and a disagreement between sources is visible.
 */
import os from 'node:os';
import path from 'node:path';
import { type ContainerLimits, readContainerLimits } from '../clients/cgroup.js';
import type { Profile } from '../config/schema.js';
import { readInputFile } from '../lib/fs.js';
import { loadManifestTree, type ManifestTree, readParams } from '../manifests/index.js';
import {
  type DiskKind,
  fact,
  formatByteSize,
  formatGoDuration,
  num,
  resolveCapacity,
} from '../tuners/index.js';
import { FactBook } from './book.js';
import { readManifestFacts } from './from-manifests.js';
import type { LiveOptions, LiveReport } from './live.js';
import { profileSizing } from './profiles.js';
import { findRoles, type Roles } from './roles.js';
import { selectManifestFiles } from './select.js';
import { cpuText, memoryText } from './show.js';

/** Facts given on the command line. Sizes in bytes, CPU in cores, times in ms. */
export interface FactFlags {
  cpus?: number;
  memory?: number;
  apiReplicas?: number;
  workerReplicas?: number;
  maxReplicas?: number;
  disk?: DiskKind;
  dbCpus?: number;
  spindles?: number;
  p50Ms?: number;
  p99Ms?: number;
  keys?: number;
  bytesPerKey?: number;
  maxConnections?: number;
}

export interface GatherOptions {
  profile: Profile;
  /** Where the profile came from (`--profile`, `config`, `default`). */
  profileFrom: 'flag' | 'profile' | 'default';
  flags: FactFlags;
  /** `--manifests` directories and `--dotenv` files, loaded as one tree. */
  manifests?: string[];
  envFiles?: string[];
  /** Root of /proc and /sys/fs/cgroup (tests point it at fixture directories). */
  cgroupRoot?: string;
  live?: LiveOptions;
  workloads?: { api?: string; worker?: string };
  /** false: several worker-like workloads are a note, not an error (a command without --worker-workload). */
  askWorker?: boolean;
  /** `--k8s`: the cluster's live objects (read before --manifests, which then only list and get written). */
  k8s?: { kubeconfig?: string; context?: string; namespace?: string };
  /** The host's totals; default os.availableParallelism() and os.totalmem(). */
  host?: { cpus: number; memoryBytes: number };
}

export interface Gathered {
  profile: Profile;
  book: FactBook;
  tree?: ManifestTree;
  roles?: Roles;
  live?: LiveReport;
  container: ContainerLimits;
  /** Files given with --dotenv (display paths), which --write may add variables to. */
  envFiles: string[];
  /** With --k8s: what was read from the cluster (its objects as a tree, nodes, the drift's input). */
  k8s?: import('../k8s/tune.js').ClusterRead & { roles: Roles };
  /** Sources that could only be read in part (a kind the user may not list). */
  warnings: string[];
}

const bytes = (b: number) => memoryText(b);

/** The namespace the Git manifests' workloads name, when they agree on one (the default of --k8s's -n). */
function gitNamespace(tree: ManifestTree | undefined): string | undefined {
  const names = new Set(
    (tree?.objects ?? [])
      .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
      .map((o) => o.namespace)
      .filter((n) => n !== undefined),
  );
  return names.size === 1 ? [...names][0] : undefined;
}

/** Kubernetes sets KUBERNETES_SERVICE_HOST in every pod's containers. */
const inPod = () => Boolean(process.env.KUBERNETES_SERVICE_HOST);

function flagFacts(book: FactBook, f: FactFlags): void {
  const flag = <T>(v: T | undefined, name: string) => (v === undefined ? undefined : fact(v, 'flag', name));
  book.put('api.replicas', flag(f.apiReplicas, '--api-replicas'));
  book.put('worker.replicas', flag(f.workerReplicas, '--worker-replicas'));
  book.put('keda.maxReplicaCount', flag(f.maxReplicas, '--max-replicas'));
  book.put('postgres.disk', flag(f.disk, '--disk'));
  book.put('postgres.cores', flag(f.dbCpus, '--db-cpus'));
  book.put('postgres.spindles', flag(f.spindles, '--spindles'));
  book.put('postgres.maxConnections', flag(f.maxConnections, '--max-connections'));
  book.put('redis.keys', flag(f.keys, '--keys'));
  book.put('redis.bytesPerKey', flag(f.bytesPerKey, '--bytes-per-key'));
  if (f.p50Ms !== undefined && f.p99Ms !== undefined) {
    book.put('execution', fact({ p50Ms: f.p50Ms, p99Ms: f.p99Ms }, 'flag', '--p50, --p99'), showExec);
  }
}

export function showExec(e: { p50Ms: number; p99Ms: number; count?: number }): string {
  return `p50 ${num(e.p50Ms)} ms, p99 ${num(e.p99Ms)} ms${e.count !== undefined ? ` over ${e.count} executions` : ''}`;
}

function liveFacts(book: FactBook, r: LiveReport, local: LiveOptions['local']): void {
  const live = <T>(v: T, detail: string) => fact(v, 'live', detail);
  if (r.postgres.ok) {
    const p = r.postgres;
    const at = `${r.targets.postgres} SHOW`;
    book.put('postgres.maxConnections', live(p.maxConnections, `${at} max_connections`));
    book.put(
      'postgres.superuserReservedConnections',
      live(p.superuserReservedConnections, `${at} superuser_reserved_connections`),
    );
    if (p.reservedConnections !== undefined)
      book.put('postgres.reservedConnections', live(p.reservedConnections, `${at} reserved_connections`));
  } else book.notes.push(`live PostgreSQL (${r.targets.postgres}): ${r.postgres.error}`);
  if (r.worker.ok) {
    const w = r.worker;
    if (w.stats)
      book.put(
        'execution',
        live(w.stats, `${r.targets.worker} sentinel_execution_duration_seconds`),
        showExec,
      );
    else book.notes.push(`live worker (${r.targets.worker}): no executions in the duration histogram yet`);
    if (w.poolSize !== undefined)
      book.put('worker.poolSize', live(w.poolSize, `${r.targets.worker} sentinel_worker_pool_size`));
  } else book.notes.push(`live worker /metrics (${r.targets.worker}): ${r.worker.error}`);
  if (r.rabbitmq.ok) {
    const q = r.rabbitmq.queue;
    if (q) {
      book.show(
        `rabbitmq.queue.${q.name}`,
        `${q.ready} ready, ${q.unacked} unacknowledged, ${q.consumers} consumers`,
        'live',
        `${r.targets.rabbitmq} /api/queues`,
      );
    }
    if (r.rabbitmq.diskFreeLimitBytes !== undefined) {
      book.put(
        'rabbitmq.diskFreeLimitBytes',
        live(r.rabbitmq.diskFreeLimitBytes, `${r.targets.rabbitmq} /api/nodes disk_free_limit`),
        (b) => `${b} bytes (${formatByteSize(b, 'rabbitmq')})`,
      );
    }
  } else book.notes.push(`live RabbitMQ management API (${r.targets.rabbitmq}): ${r.rabbitmq.error}`);
  if (r.redis.ok) {
    const d = r.redis;
    const at = r.targets.redis;
    book.put('redis.keys', live(d.keys, `${at} DBSIZE`));
    if (d.bytesPerKey !== undefined)
      book.put(
        'redis.bytesPerKey',
        live(d.bytesPerKey, `${at} MEMORY USAGE over ${d.sampled} sampled keys`),
        (b) => `${b} B`,
      );
    else book.notes.push(`live Redis (${at}): no keys to sample, bytes per key stays the guide's estimate`);
    if (d.maxmemory !== undefined && d.maxmemory > 0)
      book.put(
        'redis.maxmemoryBytes',
        live(d.maxmemory, `${at} CONFIG GET maxmemory`),
        (b) => `${b} bytes (${formatByteSize(b, 'redis')})`,
      );
    else if (d.maxmemory === 0) book.notes.push(`live Redis (${at}): maxmemory is 0 (no limit)`);
    if (d.maxmemoryPolicy !== undefined)
      book.put('redis.maxmemoryPolicy', live(d.maxmemoryPolicy, `${at} CONFIG GET maxmemory-policy`));
    if (d.usedMemory !== undefined)
      book.put(
        'redis.usedMemoryBytes',
        live(d.usedMemory, `${at} INFO memory used_memory`),
        (b) => `${b} bytes (${memoryText(b)})`,
      );
  } else book.notes.push(`live Redis (${r.targets.redis}): ${r.redis.error}`);
  // After the live readings, which win where both say something (the worker's own pool gauge).
  if (local) {
    // The local stack's API and worker run with these (sentinel-ctl up); its DATABASE_URL carries the pool.
    const at = (key: string) => `local stack: ${local.source} ${key}`;
    book.put('api.replicas', live(local.apiReplicas, at('api.replicas')));
    book.put('worker.replicas', live(local.workerReplicas, at('worker.replicas')));
    book.put('worker.poolSize', live(local.workerPoolSize, at('worker.poolSize')));
    book.put('worker.prefetch', live(local.workerPrefetch, at('worker.prefetch')));
    book.put('api.writeTimeoutMs', live(local.writeTimeoutMs, at('api.writeTimeoutMs')), formatGoDuration);
    book.put('api.rateLimitPerMinute', live(local.rateLimitPerMinute, at('api.rateLimit')));
    book.put(
      'rabbitmq.consumerTimeoutMs',
      live(local.consumerTimeoutMs, at('rabbitmq.consumerTimeoutMs')),
      formatGoDuration,
    );
    book.put('rabbitmq.channelMax', live(local.channelMax, at('rabbitmq.channelMax')));
    try {
      const p = readParams(r.databaseUrl, ['pool_max_conns', 'pool_min_conns']);
      const max = p.pool_max_conns === undefined ? null : Number(p.pool_max_conns);
      book.put('api.poolMaxConns', live(max, `${r.targets.postgres} pool_max_conns`), (v) =>
        v === null ? 'unset' : String(v),
      );
      if (p.pool_min_conns !== undefined)
        book.put('api.poolMinConns', live(Number(p.pool_min_conns), `${r.targets.postgres} pool_min_conns`));
    } catch {
      book.notes.push(`${r.targets.postgres}: a pool parameter is given twice`);
    }
  }
}

/**
 * The worker pod's CPU and memory: `--cpus`/`--memory`, the worker's manifest limits (or requests),
 * this process's cgroup, then the host (resolveCapacity, docs/design.md "Tuners").
 */
function capacityFacts(
  book: FactBook,
  g: Gathered,
  flags: FactFlags,
  host: { cpus: number; memoryBytes: number },
): void {
  const c = g.container;
  book.show('host.cpus', String(host.cpus), 'host', 'os.availableParallelism()');
  book.show('host.memory', bytes(host.memoryBytes), 'host', 'os.totalmem()');
  if (c.version !== 'none') {
    const limit = (l: typeof c.cpu, show: (n: number) => string) =>
      !l ? 'not set' : l.kind === 'unlimited' ? 'max (no limit)' : show(l.value);
    book.show('container.cpu', limit(c.cpu, cpuText), 'cgroup', c.cpuDetail ?? `cgroup ${c.version}`);
    book.show('container.memory', limit(c.memory, bytes), 'cgroup', c.memoryDetail ?? `cgroup ${c.version}`);
  }
  for (const n of c.notes) book.notes.push(n);
  const worker = g.k8s?.roles.worker ?? g.roles?.worker;
  const label = worker ? `${worker.label} container ${worker.container.name}` : undefined;
  // With a flag, the manifest's limits are not compared with it: tune pool writes those limits from
  // the pool it sized for the flag, so they are below it by design (a cgroup limit still is).
  const res = (section: 'requests' | 'limits', k: 'cpuMillicores' | 'memoryBytes') =>
    ['manifest', 'k8s'].includes(book.get<number>(`worker.${section}.${k}`)?.from ?? '') &&
    (k === 'cpuMillicores' ? flags.cpus : flags.memory) === undefined
      ? book.value<number>(`worker.${section}.${k}`)
      : undefined;
  // A cluster's worker runs on its nodes, not here: with --k8s the smallest node bounds a pod
  // that sets no resources.
  const nodes = g.k8s?.nodes ?? [];
  const smallestNode = (k: 'cpuMillicores' | 'memoryBytes') => {
    const known = nodes.filter((n) => (n[k] ?? 0) > 0);
    if (known.length === 0) return {};
    const n = known.reduce((a, b) => (b[k]! < a[k]! ? b : a));
    const field = k === 'cpuMillicores' ? 'cpu' : 'memory';
    return {
      node: n[k]!,
      nodeDetail: `node/${n.name} status.allocatable.${field} (the smallest of ${known.length} nodes)`,
    };
  };
  const cpu = resolveCapacity('cpu', {
    ...(flags.cpus !== undefined ? { flag: Math.round(flags.cpus * 1000) } : {}),
    ...(res('limits', 'cpuMillicores') !== undefined
      ? { manifestLimit: res('limits', 'cpuMillicores') }
      : {}),
    ...(res('requests', 'cpuMillicores') !== undefined
      ? { manifestRequest: res('requests', 'cpuMillicores') }
      : {}),
    ...(label ? { manifestDetail: label } : {}),
    ...smallestNode('cpuMillicores'),
    ...(c.cpu ? { cgroup: c.cpu, cgroupDetail: c.cpuDetail ?? 'cgroup' } : {}),
    host: host.cpus * 1000,
    hostDetail: 'this machine: os.availableParallelism()',
  });
  const mem = resolveCapacity('memory', {
    ...(flags.memory !== undefined ? { flag: flags.memory } : {}),
    ...(res('limits', 'memoryBytes') !== undefined ? { manifestLimit: res('limits', 'memoryBytes') } : {}),
    ...(res('requests', 'memoryBytes') !== undefined
      ? { manifestRequest: res('requests', 'memoryBytes') }
      : {}),
    ...(label ? { manifestDetail: label } : {}),
    ...smallestNode('memoryBytes'),
    ...(c.memory ? { cgroup: c.memory, cgroupDetail: c.memoryDetail ?? 'cgroup' } : {}),
    host: host.memoryBytes,
    hostDetail: 'this machine: os.totalmem()',
  });
  // The worker's resources came from the cluster (--k8s): so does the capacity read from them.
  const fromK8s = (f: typeof cpu.fact) =>
    f?.from === 'manifest' &&
    [`requests`, `limits`].some(
      (s) =>
        book.get(`worker.${s}.cpuMillicores`)?.from === 'k8s' ||
        book.get(`worker.${s}.memoryBytes`)?.from === 'k8s',
    )
      ? { ...f, from: 'k8s' as const }
      : f;
  book.put('worker.cpuMillicores', fromK8s(cpu.fact), cpuText);
  book.put('worker.memoryBytes', fromK8s(mem.fact), bytes);
  book.capacityNotes.push(...cpu.notes, ...mem.notes);
  const local = [cpu.fact, mem.fact].filter((f) => f && (f.from === 'host' || f.from === 'cgroup'));
  if (worker && local.length > 0) {
    book.capacityNotes.push(
      `${worker.label} sets no resources, so the worker pool is sized for the machine sentinel-ctl runs on; pass --cpus and --memory for the pods' real size`,
    );
  }
}

/**
 * Reads every requested source. Manifests that cannot be parsed stop here (ManifestParseError,
 * exit 2) before anything is planned; live parts that fail become notes.
 */
export async function gatherFacts(o: GatherOptions): Promise<Gathered> {
  const book = new FactBook();
  const hostCpus = o.host?.cpus ?? os.availableParallelism();
  const g: Gathered = {
    profile: o.profile,
    book,
    container: readContainerLimits(o.cgroupRoot ?? '/', { hostCpus }),
    envFiles: [],
    warnings: [],
  };
  flagFacts(book, o.flags);
  // A .env file must be a file: a directory would be read as more manifests.
  for (const f of o.envFiles ?? [])
    readInputFile(f, 'a .env file', {
      allowEmpty: true,
      suggestion: '--dotenv takes a .env file (KEY=VALUE lines); pass directories with --manifests.',
    });
  const inputs = [...(o.manifests ?? []), ...(o.envFiles ?? [])];
  if (inputs.length > 0) {
    // Only the files that can hold what tune reads or writes are parsed (see select.ts).
    const selection = selectManifestFiles(o.manifests ?? []);
    g.tree = loadManifestTree([...selection.files, ...(o.envFiles ?? [])]);
    if (selection.yamlFiles > 0) {
      book.show(
        'manifests.files',
        `${selection.yamlFiles - selection.leftOut} of ${selection.yamlFiles} YAML files parsed`,
        'manifest',
        `${(o.manifests ?? []).join(', ')}; the others hold nothing tune reads or writes`,
      );
    }
    const envAbs = new Set((o.envFiles ?? []).map((f) => path.resolve(f)));
    g.envFiles = g.tree.files.filter((f) => envAbs.has(f.path)).map((f) => f.display);
    g.roles = findRoles(g.tree, o.workloads, { ...(o.askWorker === false ? { askWorker: false } : {}) });
  }
  if (o.k8s) {
    // The cluster's live objects, read by the manifest readers (src/k8s/tune.ts); their facts go
    // before the Git manifests', which are then what --write changes.
    const { connectCluster } = await import('../k8s/client.js');
    const { readCluster, clusterFacts } = await import('../k8s/tune.js');
    const cluster = connectCluster(o.k8s);
    // -n, else the Git workloads', else the context's (in a pod the ServiceAccount's), else sentinel.
    const namespace = o.k8s.namespace ?? gitNamespace(g.tree) ?? cluster.namespace;
    const read = await readCluster(cluster, namespace);
    const roles = findRoles(read.tree, o.workloads, {
      where: `in namespace ${namespace} of ${cluster.label}`,
      ...(o.askWorker === false ? { askWorker: false } : {}),
    });
    book.manifestOrigin = 'k8s';
    readManifestFacts(book, read.tree, roles);
    clusterFacts(book, read);
    book.manifestOrigin = 'manifest';
    book.notes.push(...read.notes);
    g.warnings.push(...read.warnings);
    g.k8s = { ...read, roles };
    if (!g.tree) g.roles = roles;
  }
  // With --k8s the cluster's facts came first; the Git tree's are listed after, and are what --write edits.
  if (g.tree && g.roles) readManifestFacts(book, g.tree, g.roles);
  if (o.live) {
    const { collectLive } = await import('./live.js');
    g.live = await collectLive(o.live);
    liveFacts(book, g.live, o.live.local);
  }
  if (
    !g.tree &&
    !g.k8s &&
    !o.live &&
    !o.cgroupRoot &&
    o.flags.cpus === undefined &&
    o.flags.memory === undefined &&
    !inPod()
  ) {
    // Nothing describes the worker pod and this is not one: the machine sentinel-ctl runs on (a
    // laptop, a CI runner) says nothing about the pods, so the profile's pod shape is used.
    const shape = profileSizing[o.profile];
    const detail = `the ${o.profile} profile's worker pod (no --manifests, --cpus/--memory or --live, and not in a pod)`;
    book.put('worker.cpuMillicores', fact(shape.workerCpuMillicores, 'profile', detail), cpuText);
    book.put('worker.memoryBytes', fact(shape.workerMemoryBytes, 'profile', detail), bytes);
    book.capacityNotes.push(
      `No manifests, no --cpus/--memory and not inside a pod: sized for the ${o.profile} profile's worker pod (${cpuText(shape.workerCpuMillicores)}, ${bytes(shape.workerMemoryBytes)}), not this machine; pass --cpus and --memory for your pods`,
    );
  } else {
    capacityFacts(book, g, o.flags, { cpus: hostCpus, memoryBytes: o.host?.memoryBytes ?? os.totalmem() });
  }
  // No profile asked for: the API's replicas pick the row of the guide's pool table (1 dev,
  // 2 staging, 3+ prod), so a production tree is not tuned with development pools.
  const baseReplicas =
    o.flags.apiReplicas ?? g.k8s?.roles.api?.workload.replicas ?? g.roles?.api?.workload.replicas;
  if (o.profileFrom === 'default' && baseReplicas !== undefined) {
    g.profile = baseReplicas >= 3 ? 'prod' : baseReplicas === 2 ? 'staging' : 'dev';
    book.show(
      'profile',
      g.profile,
      g.k8s?.roles.api ? 'k8s' : 'manifest',
      `inferred: ${baseReplicas} API replicas is the ${g.profile} row of the guide's pool table (pass --profile to choose)`,
    );
  } else {
    book.show(
      'profile',
      o.profile,
      o.profileFrom === 'flag' ? 'flag' : o.profileFrom === 'profile' ? 'profile' : 'default',
      o.profileFrom === 'flag' ? '--profile' : o.profileFrom === 'profile' ? 'config' : 'default (dev)',
    );
  }
  return g;
}
