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
