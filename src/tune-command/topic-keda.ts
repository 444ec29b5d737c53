/**
 * `tune keda`: the worker's ScaledObject for a workload (the guide's defaults, bursty or steady),
 * the cooldown against the work a pod holds, the trigger protocol trap, and max_workers against
 * what PostgreSQL carries.
 */

import type { Gathered } from '../facts/gather.js';
import { profileSizing } from '../facts/profiles.js';
import { rulesText } from '../facts/show.js';
import type { HpaScalingRules, ManifestEdit, ScaledObjectPatch } from '../manifests/index.js';
import {
  type ExecutionStats,
  effectiveProtocol,
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
  // protocol http only when the host already is the management API: switching the protocol of an
  // amqp:// host breaks the scaler, and the host lives in a Secret this tool does not rewrite.
  if (effective !== 'http') {
    if (scheme?.value === 'http' || scheme?.value === 'https') metadata.protocol = 'http';
    else {
      warnings.push(
        `The KEDA trigger reads RabbitMQ over ${effective ?? 'an unknown protocol'}${effective === 'amqp' ? ', which counts only ready messages' : ''}. ` +
          "Point its host at the management API (http://user:pass@rabbitmq:15672/vhost, in the TriggerAuthentication's Secret) and set metadata.protocol: http; not written, because the host is not in the manifests as http.",
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
  return { rows, edits, warnings };
}
