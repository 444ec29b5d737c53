/**
 * Schema validation of generated objects with kubernetes-models (the Kubernetes OpenAPI schemas as
 * typed classes) and @kubernetes-models/keda (KEDA's CRD schemas), instead of hand-written checks.
 * Only the kinds `generate k8s` writes are registered; each model loads on first use.
 */

/** A model class: constructed from plain data, `validate()` throws on a schema violation. */
type ModelClass = new (data: Record<string, unknown>) => { validate(): void };

/** The generated model classes type their constructor argument; here any object goes in. */
const model = (m: unknown) => m as ModelClass;

const loaders: Record<string, () => Promise<ModelClass>> = {
  'v1/Namespace': async () => model((await import('kubernetes-models/v1/Namespace')).Namespace),
  'v1/ResourceQuota': async () => model((await import('kubernetes-models/v1/ResourceQuota')).ResourceQuota),
  'v1/LimitRange': async () => model((await import('kubernetes-models/v1/LimitRange')).LimitRange),
  'v1/Secret': async () => model((await import('kubernetes-models/v1/Secret')).Secret),
  'v1/ConfigMap': async () => model((await import('kubernetes-models/v1/ConfigMap')).ConfigMap),
  'v1/Service': async () => model((await import('kubernetes-models/v1/Service')).Service),
  'v1/ServiceAccount': async () =>
    model((await import('kubernetes-models/v1/ServiceAccount')).ServiceAccount),
  'apps/v1/Deployment': async () => model((await import('kubernetes-models/apps/v1/Deployment')).Deployment),
  'apps/v1/StatefulSet': async () =>
    model((await import('kubernetes-models/apps/v1/StatefulSet')).StatefulSet),
  'autoscaling/v2/HorizontalPodAutoscaler': async () =>
    (await import('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'))
      .HorizontalPodAutoscaler as ModelClass,
  'networking.k8s.io/v1/Ingress': async () =>
    model((await import('kubernetes-models/networking.k8s.io/v1/Ingress')).Ingress),
  'networking.k8s.io/v1/NetworkPolicy': async () =>
    model((await import('kubernetes-models/networking.k8s.io/v1/NetworkPolicy')).NetworkPolicy),
  'rbac.authorization.k8s.io/v1/Role': async () =>
    model((await import('kubernetes-models/rbac.authorization.k8s.io/v1/Role')).Role),
  'rbac.authorization.k8s.io/v1/ClusterRole': async () =>
    model((await import('kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole')).ClusterRole),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': async () =>
    model(
      (await import('kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding')).ClusterRoleBinding,
    ),
  'rbac.authorization.k8s.io/v1/RoleBinding': async () =>
    model((await import('kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding')).RoleBinding),
  'keda.sh/v1alpha1/ScaledObject': async () =>
    model((await import('@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject')).ScaledObject),
  'keda.sh/v1alpha1/TriggerAuthentication': async () =>
    model(
      (await import('@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication')).TriggerAuthentication,
    ),
};

/** The kinds this validator knows, as `apiVersion/kind`. */
export const validatedKinds = Object.keys(loaders);

/**
 * Validates one object against its schema. Returns the problems (empty when valid); an object of a
 * kind without a registered schema is a problem too, so nothing is written unvalidated.
 */
export async function validateObject(obj: Record<string, unknown>): Promise<string[]> {
  const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  const load = loaders[key];
  if (!load) return [`no schema registered for ${key}`];
  const Model = await load();
  try {
    new Model(obj).validate();
    return [];
  } catch (error) {
    // ajv's message lists every violation, comma-separated: `data/spec/replicas must be integer, …`.
    return String((error as Error).message)
      .split(/, (?=data\/)/)
      .map((m) => m.trim());
  }
}
