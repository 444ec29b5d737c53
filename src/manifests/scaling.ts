/** Autoscaling objects of a manifest tree: KEDA ScaledObjects and the HPA behavior rules they carry. */
import { isSeq } from 'yaml';
import { asNumber, asString, docOf, js, lineAt } from './read.js';
import type { K8sObject, ManifestTree } from './tree.js';

/** The ScaledObject's numeric settings under `spec`, read and tuned one by one. */
export const SCALED_OBJECT_COUNTS = [
  'pollingInterval',
  'cooldownPeriod',
  'minReplicaCount',
  'maxReplicaCount',
  'idleReplicaCount',
] as const;

export interface HpaScalingPolicy {
  type: string;
  value: number;
  periodSeconds: number;
}

export interface HpaScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: string;
  policies: HpaScalingPolicy[];
}

export interface ScaledObjectTrigger {
  type: string;
  name?: string;
  metadata: Record<string, string>;
  authenticationRef?: { name: string; kind?: string };
  metricType?: string;
  line: number;
}

export interface ScaledObjectInfo {
  object: K8sObject;
  scaleTargetRef?: { name: string; kind?: string; apiVersion?: string };
  pollingInterval?: number;
  cooldownPeriod?: number;
  minReplicaCount?: number;
  maxReplicaCount?: number;
  idleReplicaCount?: number;
  triggers: ScaledObjectTrigger[];
  /** spec.advanced.horizontalPodAutoscalerConfig.behavior */
  behavior?: { scaleUp?: HpaScalingRules; scaleDown?: HpaScalingRules };
}

function rules(v: unknown): HpaScalingRules | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  const policies = Array.isArray(r.policies)
    ? r.policies.map((p: Record<string, unknown>) => ({
        type: asString(p?.type) ?? '',
        value: asNumber(p?.value) ?? Number.NaN,
        periodSeconds: asNumber(p?.periodSeconds) ?? Number.NaN,
      }))
    : [];
  const stab = asNumber(r.stabilizationWindowSeconds);
  const sel = asString(r.selectPolicy);
  return {
    ...(stab !== undefined ? { stabilizationWindowSeconds: stab } : {}),
    ...(sel !== undefined ? { selectPolicy: sel } : {}),
    policies,
  };
}

/** KEDA ScaledObjects: polling, cooldown, replica bounds, triggers with metadata, HPA behavior. */
export function readScaledObjects(tree: ManifestTree): ScaledObjectInfo[] {
  const out: ScaledObjectInfo[] = [];
  for (const obj of tree.objects) {
    if (obj.kind !== 'ScaledObject') continue;
    const { file, doc } = docOf(tree, obj);
    const spec = (js(doc.get('spec', true), doc) ?? {}) as Record<string, unknown>;
    const ref = spec.scaleTargetRef as Record<string, unknown> | undefined;
    const trigNode = doc.getIn(['spec', 'triggers'], true);
    const triggers: ScaledObjectTrigger[] = [];
    if (isSeq(trigNode)) {
      for (const item of trigNode.items) {
        const t = (js(item, doc) ?? {}) as Record<string, unknown>;
        const meta = (t.metadata ?? {}) as Record<string, unknown>;
        const auth = t.authenticationRef as Record<string, unknown> | undefined;
        triggers.push({
          type: asString(t.type) ?? '',
          ...(asString(t.name) ? { name: asString(t.name) } : {}),
          metadata: Object.fromEntries(
            Object.entries(meta).map(([k, v]) => [k, asString(v) ?? JSON.stringify(v)]),
          ),
          ...(auth && asString(auth.name)
            ? {
                authenticationRef: {
                  name: asString(auth.name)!,
                  ...(asString(auth.kind) ? { kind: asString(auth.kind) } : {}),
                },
              }
            : {}),
          ...(asString(t.metricType) ? { metricType: asString(t.metricType) } : {}),
          line: lineAt(file, item),
        });
      }
    }
    const behavior = (
      (spec.advanced as Record<string, unknown> | undefined)?.horizontalPodAutoscalerConfig as
        | Record<string, unknown>
        | undefined
    )?.behavior as Record<string, unknown> | undefined;
    const num = (k: string) => asNumber(spec[k]);
    const info: ScaledObjectInfo = { object: obj, triggers };
    if (ref && asString(ref.name)) {
      info.scaleTargetRef = {
        name: asString(ref.name)!,
        ...(asString(ref.kind) ? { kind: asString(ref.kind) } : {}),
        ...(asString(ref.apiVersion) ? { apiVersion: asString(ref.apiVersion) } : {}),
      };
    }
    for (const k of SCALED_OBJECT_COUNTS) {
      const v = num(k);
      if (v !== undefined) info[k] = v;
    }
    if (behavior) {
      const up = rules(behavior.scaleUp);
      const down = rules(behavior.scaleDown);
      info.behavior = { ...(up ? { scaleUp: up } : {}), ...(down ? { scaleDown: down } : {}) };
    }
    out.push(info);
  }
  return out;
}

/** Where a rabbitmq trigger's host comes from: inline metadata, or a TriggerAuthentication's Secret key. */
export type TriggerHostRef =
  | { where: 'metadata'; value: string; detail: string }
  | {
      where: 'secret';
      /** Undefined when the Secret or its key is not in the tree. */
      value?: string;
      detail: string;
      auth: K8sObject;
      /** Index of the `parameter: host` entry in spec.secretTargetRef. */
      refIndex: number;
      secretName: string;
      key: string;
      /** The Secret object, when the tree holds it (not a Kustomize generator). */
      secret?: K8sObject;
    };

const label = (o: K8sObject) => `${o.file}: ${o.kind}/${o.name}`;

/**
 * The host of a rabbitmq trigger: `metadata.host`, or through its TriggerAuthentication's
 * `secretTargetRef` entry for the `host` parameter to a Secret key (KEDA's RabbitMQ scaler reads
 * either). `values` are the Secrets' decoded values by name (readSecrets).
 */
export function triggerHostRef(
  tree: ManifestTree,
  so: ScaledObjectInfo,
  t: ScaledObjectTrigger,
  secrets: Array<{ object: K8sObject; values: Record<string, string> }>,
): TriggerHostRef | undefined {
  if (t.metadata.host)
    return { where: 'metadata', value: t.metadata.host, detail: `${label(so.object)} trigger metadata.host` };
  const authName = t.authenticationRef?.name;
  if (!authName) return undefined;
  const auth = tree.objects.find(
    (o) =>
      o.kind === 'TriggerAuthentication' &&
      o.name === authName &&
      (o.namespace === undefined || so.object.namespace === undefined || o.namespace === so.object.namespace),
  );
  if (!auth) return undefined;
  const { doc } = docOf(tree, auth);
  const spec = js(doc.get('spec', true), doc) as
    | { secretTargetRef?: Array<Record<string, unknown>> }
    | undefined;
  const refs = Array.isArray(spec?.secretTargetRef) ? spec.secretTargetRef : [];
  const refIndex = refs.findIndex((r) => r?.parameter === 'host');
  const ref = refs[refIndex];
  if (!ref || typeof ref.name !== 'string' || typeof ref.key !== 'string') return undefined;
  const secret = secrets.find(
    (s) =>
      s.object.name === ref.name &&
      (s.object.namespace === undefined ||
        auth.namespace === undefined ||
        s.object.namespace === auth.namespace),
  );
  const value = secret?.values[ref.key];
  return {
    where: 'secret',
    ...(value !== undefined ? { value } : {}),
    detail: `${label(auth)} → Secret ${ref.name} key ${ref.key}`,
    auth,
    refIndex,
    secretName: ref.name,
    key: ref.key,
    ...(secret ? { secret: secret.object } : {}),
  };
}

/**
 * The RabbitMQ management API URL KEDA's scaler reads with `protocol: http`, derived from an AMQP
 * URL: amqp → http on port 15672, amqps → https on 15671 (RabbitMQ's management listener defaults),
 * the same user, password and host, and the vhost as the last path segment, percent-encoded (the
 * default vhost "/" is `%2F`). The vhost follows the Go AMQP client's reading (which KEDA and the
 * worker use): no path or "/" is the default vhost, else the path without its leading slash.
 * Undefined when `url` is not an amqp(s) URL.
 *
 * @example managementUrlFromAmqp('amqp://u:p@rabbitmq:5672/') === 'http://u:p@rabbitmq:15672/%2F'
 */
export function managementUrlFromAmqp(url: string): string | undefined {
  const m = /^(amqps?):\/\/(?:([^@/?#]*)@)?(\[[^\]]+\]|[^:/?#]*)(?::(\d*))?(\/[^?#]*)?(?:[?#].*)?$/i.exec(
    url.trim(),
  );
  if (!m) return undefined;
  const tls = m[1]!.toLowerCase() === 'amqps';
  const userinfo = m[2] !== undefined ? `${m[2]}@` : '';
  const host = m[3] ?? '';
  if (host === '') return undefined;
  const path = m[5] ?? '';
  let vhost: string;
  if (path === '' || path === '/') vhost = '/';
  else {
    try {
      vhost = decodeURIComponent(path.slice(1));
    } catch {
      return undefined;
    }
  }
  return `${tls ? 'https' : 'http'}://${userinfo}${host}:${tls ? 15671 : 15672}/${encodeURIComponent(vhost)}`;
}
