/**
 * Permission preflight: before `up --k8s` or `down --k8s` changes anything, ask the API server
 * (SelfSubjectAccessReview, what `kubectl auth can-i` does) whether the current user may do every
 * verb on every resource involved, and refuse with the whole list of what is missing — instead of
 * failing halfway through an apply.
 */
import { EnvironmentError } from '../lib/errors.js';
import type { Cluster } from './client.js';

export interface AccessNeed {
  verb: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  /** The object's name: roles may grant a verb on named objects only (resourceNames). */
  name?: string;
}

/** "verb resource.group in namespace" for every need the user lacks. */
export async function missingAccess(cluster: Cluster, needs: AccessNeed[]): Promise<string[]> {
  const seen = new Map<
    string,
    { verb: string; group: string; resource: string; namespace?: string; name?: string }
  >();
  for (const n of needs) {
    const r = await cluster.resource(n.apiVersion, n.kind);
    const group = n.apiVersion.includes('/') ? n.apiVersion.split('/')[0]! : '';
    const namespace = r.namespaced ? n.namespace : undefined;
    // `create` and `list` never carry a name; the other verbs are asked for the object itself.
    const name = n.verb === 'create' || n.verb === 'list' ? undefined : n.name;
    seen.set(`${n.verb} ${r.name}.${group} ${namespace ?? ''} ${name ?? ''}`, {
      verb: n.verb,
      group,
      resource: r.name,
      namespace,
      name,
    });
  }
  const missing: string[] = [];
  await Promise.all(
    [...seen.values()].map(async (a) => {
      const review = await cluster
        .request<{ status?: { allowed?: boolean } }>(
          'POST',
          '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          {
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: {
                resourceAttributes: {
                  verb: a.verb,
                  group: a.group,
                  resource: a.resource,
                  namespace: a.namespace,
                  name: a.name,
                },
              },
            },
          },
        )
        .catch((error) => {
          throw cluster.explain(error, 'review its own permissions');
        });
      if (!review.status?.allowed) {
        missing.push(
          `${a.verb} ${a.resource}${a.group ? `.${a.group}` : ''}${a.name ? `/${a.name}` : ''}${a.namespace ? ` in ${a.namespace}` : ' (cluster-wide)'}`,
        );
      }
    }),
  );
  return missing.sort();
}

/** Throws exit 3 naming every missing permission; `role` is the role of rbac/sentinel-ctl.yaml that grants them. */
export async function requireAccess(
  cluster: Cluster,
  needs: AccessNeed[],
  command: string,
  role: string,
): Promise<void> {
  const missing = await missingAccess(cluster, needs);
  if (missing.length === 0) return;
  const shown =
    missing.slice(0, 6).join('; ') + (missing.length > 6 ? `; and ${missing.length - 6} more` : '');
  throw new EnvironmentError(
    `${command} refused: the user of ${cluster.label} may not ${shown}. Nothing was changed.`,
    {
      code: 'FORBIDDEN',
      suggestion: `Bind the ${role} role that \`sentinel-ctl generate k8s\` writes in rbac/sentinel-ctl.yaml (docs/k8s.md "Permissions").`,
    },
  );
}
