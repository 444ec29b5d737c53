/**
 * Which object of a manifest tree is which part of the Sentinel stack: the API and worker
 * Deployments (and the container in each that matters), the PostgreSQL, Redis and RabbitMQ
 * workloads, the worker's ScaledObject and the API's HorizontalPodAutoscaler.
 *
 * Found by what the objects do, not only by name: the worker is the workload whose container reads
 * WORKER_POOL_SIZE / POOL_SIZE, the databases by their images. Names decide only what behaviour
 * cannot, and `--api-workload` / `--worker-workload` settle any ambiguity.
 */
import { UserError } from '../lib/errors.js';
import { POSTGRES_IMAGE, RABBITMQ_IMAGE, REDIS_IMAGE } from '../manifests/images.js';
import {
  type ContainerInfo,
  effectiveEnv,
  type K8sObject,
  type ManifestTree,
  readScaledObjects,
  readWorkloads,
  type ScaledObjectInfo,
  type Workload,
} from '../manifests/index.js';

export interface RoleWorkload {
  workload: Workload;
  container: ContainerInfo;
  /** `worker.yaml: Deployment/sentinel-worker`, for fact details. */
  label: string;
}

export interface HpaInfo {
  object: K8sObject;
  label: string;
  minReplicas?: number;
  maxReplicas?: number;
  targetName?: string;
}

export interface Roles {
  api?: RoleWorkload;
  worker?: RoleWorkload;
  postgres?: RoleWorkload;
  redis?: RoleWorkload;
  rabbitmq?: RoleWorkload;
  scaledObject?: ScaledObjectInfo;
  apiHpa?: HpaInfo;
  notes: string[];
}

export const POOL_SIZE_KEYS = ['WORKER_POOL_SIZE', 'POOL_SIZE'];
export const PREFETCH_KEYS = ['WORKER_PREFETCH', 'RABBITMQ_PREFETCH', 'PREFETCH_COUNT'];

export function objectText(o: K8sObject): string {
  // A live object of the cluster (src/k8s/tune.ts), pseudo-file `k8s:deployment/worker@sentinel`:
  // its facts' origin is `k8s`, so the detail names it `deployment/worker@sentinel`.
  if (o.file.startsWith('k8s:')) return o.file.slice(4);
  return `${o.file}: ${o.kind}/${o.name}`;
}

function mainContainers(w: Workload): ContainerInfo[] {
  return w.containers.filter((c) => !c.init);
}

function hasEnv(c: ContainerInfo, names: string[]): boolean {
  return names.some((n) => effectiveEnv(c, n) !== undefined);
}

function role(w: Workload, c: ContainerInfo): RoleWorkload {
  return { workload: w, container: c, label: objectText(w.object) };
}

function byImage(workloads: Workload[], image: RegExp): RoleWorkload[] {
  const out: RoleWorkload[] = [];
  for (const w of workloads) {
    const c = mainContainers(w).find((x) => x.image !== undefined && image.test(x.image));
    if (c) out.push(role(w, c));
  }
  return out;
}

function pickOne(
  found: RoleWorkload[],
  what: string,
  flag: string | undefined,
  notes: string[],
  where = 'in the manifests',
): RoleWorkload | undefined {
  if (found.length <= 1) return found[0];
  // Several candidates: a name that says what it is wins; otherwise ask.
  const named = found.filter((r) => new RegExp(what, 'i').test(r.workload.object.name));
  if (named.length === 1) return named[0];
  const list = found.map((r) => r.label).join(', ');
  if (flag) {
    throw new UserError(`Several ${what} workloads ${where}: ${list}.`, {
      suggestion: `Name the one to tune with ${flag} NAME.`,
    });
  }
  notes.push(`several ${what} workloads (${list}); the first is used`);
  return found[0];
}

function selectByName(workloads: Workload[], name: string, flag: string, where: string): Workload {
  const found = workloads.filter((w) => w.object.name === name);
  if (found.length === 0) {
    throw new UserError(`${flag} ${name}: no Deployment or StatefulSet of that name ${where}.`, {
      suggestion: `The workloads are: ${workloads.map((w) => w.object.name).join(', ') || '(none)'}.`,
    });
  }
  return found[0]!;
}

function readHpas(tree: ManifestTree): HpaInfo[] {
  const out: HpaInfo[] = [];
  for (const o of tree.objects) {
    if (o.kind !== 'HorizontalPodAutoscaler') continue;
    const file = tree.files.find((f) => f.display === o.file);
    if (file?.type !== 'yaml') continue;
    const spec = file.docs[o.docIndex]?.toJS({ maxAliasCount: -1 })?.spec as
      | Record<string, unknown>
      | undefined;
    const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
    const ref = spec?.scaleTargetRef as { name?: unknown } | undefined;
    out.push({
      object: o,
      label: objectText(o),
      ...(num(spec?.minReplicas) !== undefined ? { minReplicas: num(spec?.minReplicas) } : {}),
      ...(num(spec?.maxReplicas) !== undefined ? { maxReplicas: num(spec?.maxReplicas) } : {}),
      ...(typeof ref?.name === 'string' ? { targetName: ref.name } : {}),
    });
  }
  return out;
}

/**
 * Identifies the stack's parts in a loaded tree. `where` says where the tree came from in
 * messages ("in the manifests", "in namespace sentinel"); `askWorker: false` settles several
 * worker-like workloads with a note instead of an error (for a command that does not use it and
 * has no --worker-workload).
 */
export function findRoles(
  tree: ManifestTree,
  names: { api?: string; worker?: string } = {},
  opts: { where?: string; askWorker?: boolean } = {},
): Roles {
  const where = opts.where ?? 'in the manifests';
  const notes: string[] = [];
  const workloads = readWorkloads(tree);
  const roles: Roles = { notes };

  if (names.worker) {
    const w = selectByName(workloads, names.worker, '--worker-workload', where);
    const c = mainContainers(w).find((x) => hasEnv(x, POOL_SIZE_KEYS)) ?? mainContainers(w)[0];
    if (c) roles.worker = role(w, c);
  } else {
    const found: RoleWorkload[] = [];
    for (const w of workloads) {
      const c = mainContainers(w).find((x) => hasEnv(x, POOL_SIZE_KEYS));
      if (c) found.push(role(w, c));
    }
    if (found.length === 0) {
      for (const w of workloads) {
        const c = mainContainers(w)[0];
        if (c && /worker/i.test(w.object.name)) found.push(role(w, c));
      }
    }
    roles.worker = pickOne(
      found,
      'worker',
      opts.askWorker === false ? undefined : '--worker-workload',
      notes,
      where,
    );
  }

  const others = workloads.filter((w) => w !== roles.worker?.workload);
  if (names.api) {
    const w = selectByName(workloads, names.api, '--api-workload', where);
    const c = mainContainers(w).find((x) => effectiveEnv(x, 'DATABASE_URL')) ?? mainContainers(w)[0];
    if (c) roles.api = role(w, c);
  } else {
    const found: RoleWorkload[] = [];
    for (const w of others) {
      if (w.kind !== 'Deployment' || !/api/i.test(w.object.name)) continue;
      const c = mainContainers(w).find((x) => effectiveEnv(x, 'DATABASE_URL')) ?? mainContainers(w)[0];
      if (c) found.push(role(w, c));
    }
    roles.api = pickOne(found, 'api', '--api-workload', notes, where);
  }

  roles.postgres = pickOne(byImage(workloads, POSTGRES_IMAGE), 'postgres', undefined, notes);
  roles.redis = pickOne(byImage(workloads, REDIS_IMAGE), 'redis', undefined, notes);
  roles.rabbitmq = pickOne(byImage(workloads, RABBITMQ_IMAGE), 'rabbitmq', undefined, notes);

  const scalers = readScaledObjects(tree);
  const workerName = roles.worker?.workload.object.name;
  roles.scaledObject =
    scalers.find((s) => workerName !== undefined && s.scaleTargetRef?.name === workerName) ??
    (scalers.length === 1 ? scalers[0] : undefined);
  if (!roles.scaledObject && scalers.length > 1) {
    notes.push(`${scalers.length} ScaledObjects and none targets the worker; KEDA settings are not read`);
  }
  const apiName = roles.api?.workload.object.name;
  roles.apiHpa = readHpas(tree).find((h) => apiName !== undefined && h.targetName === apiName);
  return roles;
}
