/**
 * The inventory: a ConfigMap that lists every object `up --k8s` applied (as kapp and kpt keep one),
 * so that `down --k8s` deletes exactly those and `status --k8s` knows what to look at. It lives in
 * the namespace of the set; objects that existed before sentinel-ctl first applied them are marked,
 * and `down` leaves them in place.
 */
import { type Cluster, type K8sObject, type ObjectRef, refLabel } from './client.js';

export const INVENTORY_NAME = 'sentinel-ctl-inventory';
export const FIELD_MANAGER = 'sentinel-ctl';

export interface InventoryEntry extends ObjectRef {
  /** The object existed before sentinel-ctl first applied it: `down` does not delete it. */
  preexisting?: boolean;
}

export interface Inventory {
  namespace: string;
  entries: InventoryEntry[];
  /** What applied them, for `status`. */
  source?: string;
  appliedAt?: string;
}

export function sameRef(a: ObjectRef, b: ObjectRef): boolean {
  return (
    a.kind === b.kind &&
    a.apiVersion.split('/')[0] === b.apiVersion.split('/')[0] &&
    a.name === b.name &&
    (a.namespace ?? '') === (b.namespace ?? '')
  );
}

export function inventoryRef(namespace: string): ObjectRef {
  return { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: INVENTORY_NAME };
}

/** The inventory of a namespace, undefined when there is none; a refused read names the cluster (Cluster.explain). */
export async function readInventory(cluster: Cluster, namespace: string): Promise<Inventory | undefined> {
  const cm = await cluster
    .get<K8sObject & { data?: Record<string, string> }>(inventoryRef(namespace))
    .catch((error) => {
      throw cluster.explain(error, 'read the inventory');
    });
  if (!cm) return undefined;
  let entries: InventoryEntry[] = [];
  try {
    entries = JSON.parse(cm.data?.objects ?? '[]') as InventoryEntry[];
  } catch {
    throw new Error(
      `ConfigMap ${INVENTORY_NAME} in ${namespace} is not an inventory sentinel-ctl wrote (objects is not JSON).`,
    );
  }
  return { namespace, entries, source: cm.data?.source, appliedAt: cm.data?.appliedAt };
}

export async function writeInventory(cluster: Cluster, inv: Inventory): Promise<void> {
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: INVENTORY_NAME,
      namespace: inv.namespace,
      labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER },
      annotations: {
        'sentinel-ctl/about':
          'Objects applied by `sentinel-ctl up --k8s`; `sentinel-ctl down --k8s` deletes exactly these (docs/k8s.md).',
      },
    },
    data: {
      objects: JSON.stringify(inv.entries, null, 1),
      source: inv.source ?? '',
      appliedAt: inv.appliedAt ?? new Date().toISOString(),
    },
  };
  await cluster.request('PATCH', await cluster.objectPath(inventoryRef(inv.namespace)), {
    body,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: FIELD_MANAGER, force: 'true' },
  });
}

export function describeEntries(entries: ObjectRef[]): string {
  return entries.map(refLabel).join(', ');
}
