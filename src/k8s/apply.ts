/**
 * `up --k8s`: server-side apply of a manifest set (field manager `sentinel-ctl`), recorded in the
 * inventory; `--dry-run` is the server's own dry run compared with the live objects, as `kubectl
 * diff` does. Field conflicts with another manager are reported, and only forced with
 * --force-conflicts.
 */
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import { UserError } from '../lib/errors.js';
import { requireAccess } from './access.js';
import { type Cluster, K8sApiError, type K8sObject, type ObjectRef, refLabel, refOf } from './client.js';
import {
  FIELD_MANAGER,
  INVENTORY_NAME,
  type InventoryEntry,
  readInventory,
  sameRef,
  writeInventory,
} from './inventory.js';
import type { ManifestSet } from './manifests.js';

export type ApplyAction =
  | 'created'
  | 'configured'
  | 'unchanged'
  | 'conflict'
  | 'kept'
  | 'would create'
  | 'would change';

export interface AppliedObject extends ObjectRef {
  action: ApplyAction;
  /** Conflicting fields and their managers, or why the object was kept. */
  detail?: string;
  /** Unified diff (dry run only). */
  diff?: string;
}

export interface ApplyResult {
  context: string;
  server: string;
  namespace: string;
  source: string;
  dryRun: boolean;
  objects: AppliedObject[];
  /** Milliseconds spent applying (waiting excluded). */
  applyMs: number;
  /** Inventory entries no longer in the manifests (still deleted by `down`). */
  stale: ObjectRef[];
}

export interface ApplyOptions {
  dryRun: boolean;
  forceConflicts: boolean;
  progress?: (line: string) => void;
}

const CLUSTER_FIRST = new Set(['Namespace', 'CustomResourceDefinition']);
const PLACEHOLDER = 'REPLACE_ME';

/** The object as the API server would store it, without the fields that change on every write. */
function comparable(o: K8sObject | undefined): Record<string, unknown> | undefined {
  if (!o) return undefined;
  const { managedFields, resourceVersion, generation, ...metadata } = o.metadata as Record<string, unknown>;
  void managedFields;
  void resourceVersion;
  void generation;
  const copy: Record<string, unknown> = { ...o, metadata };
  delete copy.status;
  if (o.kind === 'Secret') {
    // Never print secret values: a short hash shows whether a value changes.
    for (const key of ['data', 'stringData']) {
      const d = copy[key] as Record<string, string> | undefined;
      if (d) {
        copy[key] = Object.fromEntries(
          Object.entries(d).map(([k, v]) => [
            k,
            `(sha256 ${createHash('sha256').update(String(v)).digest('hex').slice(0, 8)})`,
          ]),
        );
      }
    }
  }
  return copy;
}

function hasPlaceholder(o: K8sObject): string[] {
  if (o.kind !== 'Secret') return [];
  const keys: string[] = [];
  for (const key of ['data', 'stringData'] as const) {
    for (const [k, v] of Object.entries((o[key] ?? {}) as Record<string, string>)) {
      const text = key === 'data' ? Buffer.from(String(v), 'base64').toString('utf8') : String(v);
      if (text.includes(PLACEHOLDER)) keys.push(k);
    }
  }
  return keys;
}

/** Namespaces of namespaced objects filled from -n / the context, cluster-scoped ones cleared. */
export async function resolveObjects(cluster: Cluster, set: ManifestSet): Promise<K8sObject[]> {
  const out: K8sObject[] = [];
  for (const o of set.objects) {
    const r = await cluster.resource(o.apiVersion, o.kind).catch((error) => {
      throw cluster.explain(error, `discover ${o.apiVersion}`);
    });
    const copy = structuredClone(o);
    if (r.namespaced) {
      if (cluster.namespaceFromFlag) copy.metadata.namespace = cluster.namespace;
      else copy.metadata.namespace ??= cluster.namespace;
    } else delete copy.metadata.namespace;
    out.push(copy);
  }
  // Namespaces and CRDs first, then the set's own order (the deployment guide's).
  return [...out.filter((o) => CLUSTER_FIRST.has(o.kind)), ...out.filter((o) => !CLUSTER_FIRST.has(o.kind))];
}

/** Where the inventory lives: -n, else the one namespace of the set's objects, else the context's. */
export function inventoryNamespace(cluster: Cluster, objects: K8sObject[]): string {
  if (cluster.namespaceFromFlag) return cluster.namespace;
  const namespaces = new Set(objects.map((o) => o.metadata.namespace).filter(Boolean));
  return namespaces.size === 1 ? [...namespaces][0]! : cluster.namespace;
}

function conflictDetail(error: K8sApiError): string {
  // "Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas"
  return error.message.replace(/^Apply failed with \d+ conflicts?: /, '');
}

async function applyOne(cluster: Cluster, o: K8sObject, opts: ApplyOptions): Promise<K8sObject> {
  return cluster.request<K8sObject>('PATCH', await cluster.objectPath(refOf(o)), {
    body: o,
    contentType: 'application/apply-patch+yaml',
    query: {
      fieldManager: FIELD_MANAGER,
      force: opts.forceConflicts ? 'true' : undefined,
      dryRun: opts.dryRun ? 'All' : undefined,
    },
  });
}

export async function applySet(cluster: Cluster, set: ManifestSet, opts: ApplyOptions): Promise<ApplyResult> {
  const objects = await resolveObjects(cluster, set);
  const namespace = inventoryNamespace(cluster, objects);
  const needs = objects.flatMap((o) =>
    ['get', 'create', 'patch'].map((verb) => ({
      verb,
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.metadata.namespace,
      name: o.metadata.name,
    })),
  );
  needs.push(
    ...['get', 'create', 'patch'].map((verb) => ({
      verb,
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace,
      name: INVENTORY_NAME,
    })),
  );
  await requireAccess(cluster, needs, opts.dryRun ? 'up --k8s --dry-run' : 'up --k8s', 'sentinel-ctl-deploy');

  const previous = await readInventory(cluster, namespace);
  const live = new Map<K8sObject, K8sObject | undefined>();
  await Promise.all(
    objects.map(async (o) => {
      live.set(
        o,
        await cluster
          .get(refOf(o))
          .catch((error) => Promise.reject(cluster.explain(error, `read ${refLabel(refOf(o))}`))),
      );
    }),
  );

  // A Secret that still holds the generator's placeholders is never applied over a live one, and
  // never created: the real values come from the user (or are created out of band).
  const skipped = new Map<K8sObject, string>();
  const refused: string[] = [];
  for (const o of objects) {
    const keys = hasPlaceholder(o);
    if (keys.length === 0) continue;
    if (live.get(o))
      skipped.set(o, `live Secret kept: the manifest's ${keys.join(', ')} still hold ${PLACEHOLDER}`);
    else refused.push(`${o.metadata.name} (${keys.join(', ')})`);
  }
  if (refused.length > 0) {
    throw new UserError(
      `Secret${refused.length > 1 ? 's' : ''} ${refused.join(', ')} still hold ${PLACEHOLDER} and do not exist in ${cluster.label}. Nothing was applied.`,
      {
        code: 'SECRET_PLACEHOLDER',
        suggestion: `Replace every ${PLACEHOLDER} in 01-secrets.yaml of \`generate k8s --out DIR\` and pass --manifests DIR, or create the Secrets first (kubectl create secret generic NAME -n ${namespace} ...).`,
      },
    );
  }

  const entries: InventoryEntry[] = [...(previous?.entries ?? [])];
  const remember = (o: K8sObject) => {
    if (entries.some((e) => sameRef(e, refOf(o)))) return;
    entries.push({ ...refOf(o), ...(live.get(o) ? { preexisting: true } : {}) });
  };
  const stale = (previous?.entries ?? []).filter((e) => !objects.some((o) => sameRef(e, refOf(o))));
  const result: ApplyResult = {
    context: cluster.context,
    server: cluster.server,
    namespace,
    source: set.source,
    dryRun: opts.dryRun,
    objects: [],
    applyMs: 0,
    stale,
  };
  let written = JSON.stringify(previous?.entries ?? null);
  // Rewritten only when it changes, so that a second apply of the same set changes nothing at all.
  const saveInventory = async (changed: boolean) => {
    if (!changed && JSON.stringify(entries) === written) return;
    await writeInventory(cluster, {
      namespace,
      entries,
      source: set.source,
      appliedAt: changed || !previous?.appliedAt ? new Date().toISOString() : previous.appliedAt,
    }).catch((error) => {
      throw cluster.explain(error, 'write the inventory');
    });
    written = JSON.stringify(entries);
  };
  const started = performance.now();
  let inventoryWritten = false;
  for (const o of objects) {
    const ref = refOf(o);
    const before = live.get(o);
    if (skipped.has(o)) {
      result.objects.push({ ...ref, action: 'kept', detail: skipped.get(o) });
      continue;
    }
    // The inventory is written before the first namespaced object, and lists everything about to
    // be applied: an apply that stops halfway still leaves `down` able to remove what it made.
    if (!opts.dryRun && !inventoryWritten && !CLUSTER_FIRST.has(o.kind)) {
      for (const p of objects) if (!skipped.has(p)) remember(p);
      await saveInventory(false);
      inventoryWritten = true;
    }
    let after: K8sObject;
    let conflict: string | undefined;
    try {
      after = await applyOne(cluster, o, opts);
    } catch (error) {
      if (error instanceof K8sApiError && error.status === 409) {
        conflict = conflictDetail(error);
        opts.progress?.(`${refLabel(ref)}: conflict: ${conflict}`);
        if (!opts.dryRun) {
          result.objects.push({ ...ref, action: 'conflict', detail: conflict });
          continue;
        }
        // A dry run still shows what forcing would change.
        after = await applyOne(cluster, o, { ...opts, forceConflicts: true }).catch((e) => {
          throw cluster.explain(e, `dry-run ${refLabel(ref)}`);
        });
      } else {
        if (error instanceof K8sApiError && (error.status === 422 || error.status === 400)) {
          throw new UserError(
            `${refLabel(ref)} from ${set.source} is invalid for ${cluster.label}: ${error.message}`,
            {
              code: 'INVALID_OBJECT',
              suggestion: 'Fix the manifest; the objects before it were applied and are in the inventory.',
            },
          );
        }
        throw cluster.explain(error, `apply ${refLabel(ref)}`);
      }
    }
    let entry: AppliedObject;
    if (opts.dryRun) {
      const a = comparable(before);
      const b = comparable(after);
      const aText = a ? stringify(a, { sortMapEntries: true }) : '';
      const bText = stringify(b, { sortMapEntries: true });
      const label = `${o.apiVersion}/${refLabel(ref)}`;
      entry =
        aText === bText && !conflict
          ? { ...ref, action: 'unchanged' }
          : {
              ...ref,
              action: conflict ? 'conflict' : before ? 'would change' : 'would create',
              ...(conflict ? { detail: conflict } : {}),
              diff: createTwoFilesPatch(
                `live ${label}`,
                `applied ${label}`,
                aText,
                bText,
                undefined,
                undefined,
                { context: 3 },
              )
                .split('\n')
                .slice(1)
                .join('\n'),
            };
    } else {
      const action: ApplyAction = !before
        ? 'created'
        : before.metadata.resourceVersion === after.metadata.resourceVersion
          ? 'unchanged'
          : 'configured';
      entry = { ...ref, action };
      if (CLUSTER_FIRST.has(o.kind)) remember(o);
    }
    result.objects.push(entry);
    if (entry.action !== 'unchanged') opts.progress?.(`${refLabel(ref)}: ${entry.action}`);
  }
  result.applyMs = Math.round(performance.now() - started);
  if (!opts.dryRun) {
    // Only namespaces were applied (or nothing): record them all the same.
    for (const p of objects) if (!skipped.has(p)) remember(p);
    await saveInventory(result.objects.some((x) => x.action === 'created' || x.action === 'configured'));
  }
  return result;
}
