/**
 * `tune keda`: the worker's ScaledObject for a workload (the guide's defaults, bursty or steady),
 * the cooldown against the work a pod holds, the trigger protocol trap, and max_workers against
 * what PostgreSQL carries.
 */

import type { Gathered } from '../facts/gather.js';
import { profileSizing } from '../facts/profiles.js';
import { rulesText } from '../facts/show.js';
import {
  type HpaScalingRules,
  type ManifestEdit,
  managementUrlFromAmqp,
  readScaledObjects,
  readSecrets,
  type ScaledObjectInfo,
  type ScaledObjectPatch,
  type ScaledObjectTrigger,
  triggerHostRef,
} from '../manifests/index.js';
import {
  type ExecutionStats,
  effectiveProtocol,
  formatSource,
  type KedaTriggerMode,
  type KedaTriggerProtocol,
  type KedaWorkload,
  kedaScaledObject,
  kedaTriggerProtocol,
  maxWorkers,
  recommend,
  type ScalingRules,
  sources,
  workerPoolSize,
} from '../tuners/index.js';
import { row, type TunePlan, type TuneRow } from './types.js';

/** Kubernetes' HPA defaults where a behavior leaves a field out. */
const HPA_DEFAULTS = {
  scaleUp: { stabilizationWindowSeconds: 0 },
  scaleDown: { stabilizationWindowSeconds: 300 },
};

function sameRules(dir: 'scaleUp' | 'scaleDown') {
  return (cur: unknown, rec: ScalingRules) => {
    const c = cur as HpaScalingRules;
    const window = c.stabilizationWindowSeconds ?? HPA_DEFAULTS[dir].stabilizationWindowSeconds;
    return (
      window === rec.stabilizationWindowSeconds &&
      (c.selectPolicy ?? 'Max') === rec.selectPolicy &&
      c.policies.length === rec.policies.length &&
      c.policies.every((p, i) => {
        const q = rec.policies[i]!;
        return p.type === q.type && p.value === q.value && p.periodSeconds === q.periodSeconds;
      })
    );
  };
}

export function planKeda(g: Gathered, workload: KedaWorkload): TunePlan {
  const b = g.book;
  const rows: TuneRow[] = [];
  const warnings: string[] = [];
  const current = b.get<number>('keda.maxReplicaCount');
  // maxReplicaCount is a capacity decision: keep the one given (flag or manifest), else the profile's.
  const sizing = profileSizing[g.profile];
  const maxReplicaCount = current?.value ?? sizing.kedaMaxReplicas;
  const rec = kedaScaledObject(workload, { maxReplicaCount });
  if (!current) {
    rec.maxReplicaCount = recommend(
      maxReplicaCount,
      `${maxReplicaCount} pods (${sizing.kedaMaxReplicasWhy})`,
      sources.kedaParameters,
      {
        basis: 'guide-default',
      },
    );
  }
  const so = 'ScaledObject';
  rows.push(row('pollingInterval', so, rec.pollingInterval, b.get('keda.pollingInterval')));

  // cooldownPeriod must outlast the work one consumer holds: prefetch × p99 (docs/formulas.md).
  const exec = b.value<ExecutionStats>('execution');
  const prefetch = b.value<number>('worker.prefetch') ?? 1;
  let cooldown = rec.cooldownPeriod;
  if (exec) {
    const held = Math.ceil((prefetch * exec.p99Ms) / 1000);
    if (held > cooldown.value) {
      cooldown = recommend(
        held,
        `ceil(prefetch ${prefetch} × p99 ${exec.p99Ms} ms) = ${held}s, above the guide's 60s: a pod must not be scaled away while it still holds work`,
        sources.ownKedaCooldown,
        { basis: 'tool-heuristic' },
      );
    }
  }
  rows.push(row('cooldownPeriod', so, cooldown, b.get('keda.cooldownPeriod')));
  rows.push(row('minReplicaCount', so, rec.minReplicaCount, b.get('keda.minReplicaCount')));
  rows.push(row('maxReplicaCount', so, rec.maxReplicaCount, current));
  rows.push(row('idleReplicaCount', so, rec.idleReplicaCount, b.get('keda.idleReplicaCount')));
  rows.push(row('trigger value', so, rec.triggerValue, b.get('keda.triggerValue')));
  rows.push(
    row('scaleUp', so, rec.scaleUp, b.get('keda.scaleUp'), {
      show: rulesText,
      showCurrent: (v) => rulesText(v as HpaScalingRules),
      same: sameRules('scaleUp'),
    }),
  );
  rows.push(
    row('scaleDown', so, rec.scaleDown, b.get('keda.scaleDown'), {
      show: rulesText,
      showCurrent: (v) => rulesText(v as HpaScalingRules),
      same: sameRules('scaleDown'),
    }),
  );

  const protocol = b.get<KedaTriggerProtocol>('keda.protocol');
  const scheme = b.get<string>('keda.hostScheme');
  const mode = b.get<KedaTriggerMode>('keda.mode');
  const trigger = kedaTriggerProtocol({
    ...(protocol ? { protocol: protocol.value } : {}),
    ...(mode ? { mode: mode.value } : {}),
    ...(scheme ? { hostScheme: scheme.value } : {}),
    pollingInterval: rec.pollingInterval.value,
  });
  const effective = effectiveProtocol(protocol?.value, scheme?.value);
  const protocolFact = protocol ?? scheme;
  rows.push({
    ...row('trigger protocol', so, { ...trigger, value: trigger.value.protocol }, protocolFact, {
      showCurrent: () => effective ?? `${protocol?.value ?? 'auto'} (host not in the manifests)`,
      same: () => effective === 'http',
    }),
  });
  rows.push(row('trigger mode', so, { ...trigger, value: trigger.value.mode, warnings: [] }, mode));

  // max_workers against the database (tuning guide "Calculating Max Workers").
  const poolSize =
    b.value<number>('worker.poolSize') ??
    workerPoolSize({
      cpuMillicores: b.value<number>('worker.cpuMillicores') ?? sizing.workerCpuMillicores,
      memoryBytes: b.value<number>('worker.memoryBytes') ?? sizing.workerMemoryBytes,
    }).value;
  const maxConn = b.value<number>('postgres.maxConnections');
  const su = b.value<number>('postgres.superuserReservedConnections');
  rows.push(
    row(
      'max_workers',
      'KEDA × pool',
      maxWorkers(rec.maxReplicaCount.value, poolSize, {
        ...(maxConn !== undefined ? { maxConnections: maxConn } : {}),
        ...(su !== undefined ? { superuserReservedConnections: su } : {}),
      }),
      undefined,
      { info: true },
    ),
  );

  const edits: ManifestEdit[] = [];
  const info = g.roles?.scaledObject;
  if (!g.tree) return { rows, edits, warnings };
  if (!info) {
    warnings.push(
      'No ScaledObject for the worker in the manifests: nothing to write (generate one with `sentinel-ctl generate k8s`).',
    );
    return { rows, edits, warnings };
  }
  const t = info.triggers.find((x) => x.type === 'rabbitmq');
  const metadata: Record<string, string> = {};
  if (t?.metadata.queueLength !== undefined && t.metadata.value === undefined) {
    metadata.queueLength = String(rec.triggerValue.value);
  } else {
    metadata.value = String(rec.triggerValue.value);
    metadata.mode = 'QueueLength';
  }
  // protocol http needs the management API as host: an http(s) host is switched as it is; an
  // amqp(s) host (inline or in the TriggerAuthentication's Secret) gets its management URL derived
  // and written next to it, the TriggerAuthentication pointed at the new key (docs/formulas.md
  // "KEDA trigger over the management API").
  const protocolMeta: Record<string, string> = {};
  if (effective !== 'http' && t) {
    const moved = httpHost(g, info, t);
    if (scheme?.value === 'http' || scheme?.value === 'https') protocolMeta.protocol = 'http';
    else if ('edits' in moved) {
      protocolMeta.protocol = 'http';
      if (moved.host) protocolMeta.host = moved.host;
      edits.push(...moved.edits);
    } else {
      warnings.push(
        `The KEDA trigger reads RabbitMQ over ${effective ?? 'an unknown protocol'}${effective === 'amqp' ? ', which counts only ready messages' : ''}. ` +
          `Point its host at the management API (http://user:pass@rabbitmq:15672/vhost) and set metadata.protocol: http; not written, because ${moved.why}.`,
      );
    }
  }
  // Only what differs from the current rules (with Kubernetes' defaults filled in) is written:
  // restating a default would be a change with no effect in the diff.
  const behavior: NonNullable<ScaledObjectPatch['behavior']> = {};
  for (const dir of ['scaleUp', 'scaleDown'] as const) {
    const want = rec[dir].value;
    const have = b.value<HpaScalingRules>(`keda.${dir}`);
    if (have && sameRules(dir)(have, want)) continue;
    const window = have?.stabilizationWindowSeconds ?? HPA_DEFAULTS[dir].stabilizationWindowSeconds;
    behavior[dir] = {
      ...(!have || window !== want.stabilizationWindowSeconds
        ? { stabilizationWindowSeconds: want.stabilizationWindowSeconds }
        : {}),
      ...(!have || (have.selectPolicy ?? 'Max') !== want.selectPolicy
        ? { selectPolicy: want.selectPolicy }
        : {}),
      policies: want.policies,
    };
  }
  const patch: ScaledObjectPatch = {
    pollingInterval: rec.pollingInterval.value,
    cooldownPeriod: cooldown.value,
    minReplicaCount: rec.minReplicaCount.value,
    maxReplicaCount: rec.maxReplicaCount.value,
    idleReplicaCount: rec.idleReplicaCount.value,
    ...(Object.keys(behavior).length > 0 ? { behavior } : {}),
    ...(t ? { triggers: [{ type: 'rabbitmq', ...(t.name ? { name: t.name } : {}), metadata }] } : {}),
  };
  const o = info.object;
  edits.push({
    op: 'patch-scaled-object',
    scaledObject: { name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) },
    patch,
    reason: `${workload} workload (${rec.pollingInterval.source.section})`,
  });
  if (t && Object.keys(protocolMeta).length > 0) {
    edits.push({
      op: 'patch-scaled-object',
      scaledObject: { name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) },
      patch: {
        triggers: [{ type: 'rabbitmq', ...(t.name ? { name: t.name } : {}), metadata: protocolMeta }],
      },
      reason: `protocol http counts ready + unacknowledged messages (${formatSource(sources.ownKedaTrigger)})`,
    });
  }
  return { rows, edits, warnings };
}

/** The Secret key that receives the derived management API URL. */
export const MANAGEMENT_HOST_KEY = 'management-host';

/**
 * The edits that give an amqp(s) trigger host a management API equivalent: inline (`metadata.host`
 * rewritten) or in the TriggerAuthentication's Secret (a new key, the `host` reference repointed);
 * or why it cannot be done.
 */
function httpHost(
  g: Gathered,
  so: ScaledObjectInfo,
  t: ScaledObjectTrigger,
): { edits: ManifestEdit[]; host?: string } | { why: string } {
  const ref = triggerHostRef(g.tree!, so, t, readSecrets(g.tree!));
  if (!ref)
    return {
      why: 'the trigger has no host in the manifests (no metadata.host, no TriggerAuthentication host)',
    };
  if (ref.value === undefined)
    return { why: `${ref.detail} is not in the manifests (add the Secret to --manifests)` };
  const url = managementUrlFromAmqp(ref.value);
  if (!url) return { why: `the host (${ref.detail}) is not an amqp:// or amqps:// URL` };
  const why = `management API URL from the amqp host: same credentials and vhost, port ${url.startsWith('https') ? '15671 (TLS)' : '15672'} (${formatSource(sources.deployEndpoints)}; ${formatSource(sources.ownKedaTrigger)})`;
  if (ref.where === 'metadata') return { edits: [], host: url };
  // Repointing a TriggerAuthentication switches every trigger that uses it to the management URL,
  // and those keep their own protocol: a shared one is left for the user to split.
  const sharers = readScaledObjects(g.tree!).filter(
    (other) =>
      other.object !== so.object &&
      (other.object.namespace === undefined ||
        ref.auth.namespace === undefined ||
        other.object.namespace === ref.auth.namespace) &&
      other.triggers.some((x) => x.authenticationRef?.name === ref.auth.name),
  );
  if (sharers.length > 0)
    return {
      why: `TriggerAuthentication ${ref.auth.name} is also used by ScaledObject ${sharers.map((s) => s.object.name).join(', ')}, whose trigger would read the management URL too; give ${so.object.name} a TriggerAuthentication of its own`,
    };
  if (!ref.secret) return { why: `Secret ${ref.secretName} is generated by Kustomize; add the key by hand` };
  const data = readSecrets(g.tree!).find((d) => d.object === ref.secret);
  const taken = data?.values[MANAGEMENT_HOST_KEY];
  if (taken !== undefined && taken !== url && ref.key !== MANAGEMENT_HOST_KEY)
    return { why: `Secret ${ref.secretName} already has a key ${MANAGEMENT_HOST_KEY} with another value` };
  const sel = (o: { name: string; namespace?: string }) => ({
    name: o.name,
    ...(o.namespace ? { namespace: o.namespace } : {}),
  });
  return {
    edits: [
      {
        op: 'set-secret-key',
        secret: sel(ref.secret),
        key: MANAGEMENT_HOST_KEY,
        value: url,
        like: ref.key,
        reason: why,
      },
      {
        op: 'set-field',
        object: { kind: 'TriggerAuthentication', ...sel(ref.auth) },
        path: ['spec', 'secretTargetRef', ref.refIndex, 'key'],
        value: MANAGEMENT_HOST_KEY,
        reason: `the trigger's host parameter reads the management API URL (${formatSource(sources.ownKedaTrigger)})`,
      },
    ],
  };
}
