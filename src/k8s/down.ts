/**
 * `down --k8s`: deletes exactly the objects of the inventory, newest first, and nothing else. Objects
 * that existed before sentinel-ctl applied them stay. A namespace sentinel-ctl created is deleted
 * last, and only when nothing else is in it: objects someone else put there (or a StatefulSet's
 * PersistentVolumeClaims, which hold data) keep it, and are named.
 */
import { requireAccess } from './access.js';
import { type Cluster, isNotFound, K8sApiError, type K8sObject, type ObjectRef, refLabel } from './client.js';
import { INVENTORY_NAME, inventoryRef, readInventory } from './inventory.js';

export type DownAction = 'deleted' | 'not found' | 'kept' | 'terminating';

export interface DownObject extends ObjectRef {
  action: DownAction;
  detail?: string;
}

export interface DownResult {
  context: string;
  server: string;
  namespace: string;
  /** False when no inventory was found (nothing applied by sentinel-ctl there). */
  inventory: boolean;
  objects: DownObject[];
}

/** Objects in a namespace that are not ours: anything without an owner, minus what Kubernetes creates itself. */
async function foreignObjects(cluster: Cluster, namespace: string, ours: ObjectRef[]): Promise<string[]> {
  const groups = await cluster.request<{ groups: Array<{ preferredVersion: { groupVersion: string } }> }>(
    'GET',
    '/apis',
  );
  const versions = ['v1', ...groups.groups.map((g) => g.preferredVersion.groupVersion)];
  const found: string[] = [];
  const ignored = new Set([
    'ConfigMap/kube-root-ca.crt',
    'ServiceAccount/default',
    `ConfigMap/${INVENTORY_NAME}`,
  ]);
  const oursNames = new Set(ours.map((r) => `${r.kind}/${r.name}`));
  await Promise.all(
    versions.map(async (gv) => {
      const list = await cluster
        .request<{ resources: Array<{ name: string; kind: string; namespaced: boolean; verbs: string[] }> }>(
          'GET',
          gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`,
        )
        .catch(() => ({ resources: [] }));
      for (const r of list.resources) {
        if (!r.namespaced || r.name.includes('/') || !r.verbs.includes('list') || r.kind === 'Event')
          continue;
        const base = gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`;
        const items = await cluster
          .request<{ items: K8sObject[] }>('GET', `${base}/namespaces/${namespace}/${r.name}`, {
            query: { limit: '50' },
          })
          .then((x) => x.items)
          .catch((error) => {
            // What cannot be listed cannot be known to be empty: the namespace stays.
            if (error instanceof K8sApiError && error.status === 403)
              found.push(`${r.name} (not allowed to list)`);
            return [] as K8sObject[];
          });
        for (const o of items) {
          const key = `${r.kind}/${o.metadata.name}`;
          if (ignored.has(key) || oursNames.has(key) || o.metadata.deletionTimestamp) continue;
          if (Array.isArray(o.metadata.ownerReferences) && o.metadata.ownerReferences.length > 0) continue;
          // Endpoints mirror a Service of the same name.
          if (r.kind === 'Endpoints' && oursNames.has(`Service/${o.metadata.name}`)) continue;
          found.push(key);
        }
      }
    }),
  );
  return [...new Set(found)].sort();
}

export async function downSet(cluster: Cluster, namespace: string): Promise<DownResult> {
  const inv = await readInventory(cluster, namespace);
  const result: DownResult = {
    context: cluster.context,
    server: cluster.server,
    namespace,
    inventory: Boolean(inv),
    objects: [],
  };
  if (!inv) return result;
  const toDelete = inv.entries.filter((e) => !e.preexisting);
  await requireAccess(
    cluster,
    [...toDelete, inventoryRef(namespace)].flatMap((e) =>
      ['get', 'delete'].map((verb) => ({
        verb,
        apiVersion: e.apiVersion,
        kind: e.kind,
        namespace: e.namespace,
        name: e.name,
      })),
    ),
    'down --k8s',
    'sentinel-ctl-deploy',
  );
  const del = async (ref: ObjectRef): Promise<DownAction> => {
    try {
      await cluster.request('DELETE', await cluster.objectPath(ref), {
        query: { propagationPolicy: 'Background' },
      });
      return 'deleted';
    } catch (error) {
      if (isNotFound(error)) return 'not found';
      throw cluster.explain(error, `delete ${refLabel(ref)}`);
    }
  };
  const namespaces = toDelete.filter((e) => e.kind === 'Namespace');
  for (const e of [...inv.entries].reverse()) {
    if (e.preexisting) {
      result.objects.push({ ...e, action: 'kept', detail: 'existed before sentinel-ctl applied it' });
      continue;
    }
    if (e.kind === 'Namespace') continue;
    result.objects.push({ ...e, action: await del(e) });
  }
  await del(inventoryRef(namespace));
  for (const ns of namespaces) {
    const foreign = await foreignObjects(
      cluster,
      ns.name,
      inv.entries.filter((e) => e.namespace === ns.name),
    );
    if (foreign.length > 0) {
      result.objects.push({
        ...ns,
        action: 'kept',
        detail: `holds objects sentinel-ctl did not apply: ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? `, and ${foreign.length - 5} more` : ''}`,
      });
      continue;
    }
    const action = await del(ns);
    const after = action === 'deleted' ? await cluster.get(ns) : undefined;
    result.objects.push({
      ...ns,
      action: after ? 'terminating' : action,
      ...(after ? { detail: 'deletion requested; the namespace controller removes it' } : {}),
    });
  }
  return result;
}
