/**
 * The worker's KEDA ScaledObject (sentinel-tuning-guide.md "KEDA Auto-Scaling"), the number of
 * concurrent executions it allows, and the trigger trap.
 */
import type { KedaTriggerMode, KedaTriggerProtocol } from './facts.js';
import { PG_CONNECTION_OVERHEAD, PG_DEFAULT_SUPERUSER_RESERVED } from './postgres.js';
import { type Recommendation, recommend, type Source, sources, type TunerWarning } from './types.js';

/** The guide's workloads: its defaults, "bursty" (homework deadlines) and "steady" (CI/CD). */
export const kedaWorkloads = ['default', 'bursty', 'steady'] as const;
export type KedaWorkload = (typeof kedaWorkloads)[number];

/** One HPA scaling policy, as in `advanced.horizontalPodAutoscalerConfig.behavior`. */
export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: 'Max' | 'Min';
  policies: ScalingPolicy[];
}

export interface KedaSettings {
  pollingInterval: number;
  cooldownPeriod: number;
  minReplicaCount: number;
  maxReplicaCount: number;
  /** Deployment guide: "Idle replicas 0 (scales to zero when idle)". */
  idleReplicaCount: number;
  /** Target messages per worker replica (the rabbitmq trigger's `value`). */
  triggerValue: number;
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** Defaults: "ScaledObject Parameters" and "Scaling Behavior" (+5 pods or +100 % every 30 s; −2 pods every 60 s, 120 s stabilization). */
const defaultSettings: KedaSettings = {
  pollingInterval: 5,
  cooldownPeriod: 60,
  minReplicaCount: 2,
  maxReplicaCount: 50,
  idleReplicaCount: 0,
  triggerValue: 15,
  scaleUp: {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Pods', value: 5, periodSeconds: 30 },
      { type: 'Percent', value: 100, periodSeconds: 30 },
    ],
  },
  scaleDown: {
    stabilizationWindowSeconds: 120,
    selectPolicy: 'Max',
    policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }],
  },
};

/**
 * Per workload, exactly as "Tuning Recommendations" lists them; what a profile does not list keeps
 * the default. Bursty: pollingInterval 3, trigger value 5, scaleUp +10 pods / 15 s.
 * Steady: pollingInterval 10, trigger value 30, scaleDown stabilization 300.
 */
export const kedaWorkloadTable: Record<KedaWorkload, KedaSettings> = {
  default: defaultSettings,
  bursty: {
    ...defaultSettings,
    pollingInterval: 3,
    triggerValue: 5,
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [{ type: 'Pods', value: 10, periodSeconds: 15 }],
    },
  },
  steady: {
    ...defaultSettings,
    pollingInterval: 10,
    triggerValue: 30,
    scaleDown: { ...defaultSettings.scaleDown, stabilizationWindowSeconds: 300 },
  },
};

const workloadWhy: Record<KedaWorkload, Partial<Record<keyof KedaSettings, string>>> = {
  default: {},
  bursty: {
    pollingInterval: 'react faster',
    triggerValue: 'scale earlier',
    scaleUp: 'ramp aggressively',
  },
  steady: {
    pollingInterval: 'less API overhead',
    triggerValue: 'each worker handles more',
    scaleDown: '5 min cooldown',
  },
};

/** "max of +5 pods / 30s or +100% / 30s, 0s stabilization". */
function policyText(r: ScalingRules, sign: '+' | '−'): string {
  const ps = r.policies.map((p) =>
    p.type === 'Pods'
      ? `${sign}${p.value} pods / ${p.periodSeconds}s`
      : `${sign}${p.value}% / ${p.periodSeconds}s`,
  );
  const list =
    ps.length > 1 ? `${r.selectPolicy === 'Max' ? 'max' : 'min'} of ${ps.join(' or ')}` : (ps[0] ?? 'none');
  return `${list}, ${r.stabilizationWindowSeconds}s stabilization`;
}

export interface KedaScaledObjectRecommendation {
  pollingInterval: Recommendation<number>;
  cooldownPeriod: Recommendation<number>;
  minReplicaCount: Recommendation<number>;
  maxReplicaCount: Recommendation<number>;
  idleReplicaCount: Recommendation<number>;
  triggerValue: Recommendation<number>;
  scaleUp: Recommendation<ScalingRules>;
  scaleDown: Recommendation<ScalingRules>;
  trigger: Recommendation<{ protocol: 'http'; mode: 'QueueLength' }>;
}

/**
 * Every ScaledObject setting for a workload profile, each with its reason and section.
 * `maxReplicaCount` may be overridden (e.g. lowered to what the database can carry, see `maxWorkers`).
 */
export function kedaScaledObject(
  workload: KedaWorkload,
  overrides: { maxReplicaCount?: number } = {},
): KedaScaledObjectRecommendation {
  const s = kedaWorkloadTable[workload];
  const why = workloadWhy[workload];
  const pick = <K extends keyof KedaSettings>(
    key: K,
    text: (v: KedaSettings[K]) => string,
    fallback: Source,
  ) => {
    const value = s[key];
    const tuned = why[key];
    return tuned
      ? recommend(value, `${workload} workload: ${text(value)} (${tuned})`, sources.kedaProfiles, {
          basis: 'guide-default',
        })
      : recommend(value, `${text(value)} (guide default)`, fallback, { basis: 'guide-default' });
  };
  const maxReplicaCount =
    overrides.maxReplicaCount === undefined
      ? pick('maxReplicaCount', (v) => `${v} pods`, sources.kedaParameters)
      : recommend(
          overrides.maxReplicaCount,
          `${overrides.maxReplicaCount} pods (set explicitly; the guide's default is 50)`,
          sources.kedaParameters,
          {
            basis: 'guide-default',
          },
        );
  return {
    pollingInterval: pick('pollingInterval', (v) => `check the queue every ${v}s`, sources.kedaParameters),
    cooldownPeriod: pick(
      'cooldownPeriod',
      (v) => `wait ${v}s before scaling to idle`,
      sources.kedaParameters,
    ),
    minReplicaCount: pick('minReplicaCount', (v) => `${v} pods`, sources.kedaParameters),
    maxReplicaCount,
    idleReplicaCount: recommend(
      s.idleReplicaCount,
      `${s.idleReplicaCount} pods when the queue is idle (scales to zero)`,
      sources.deployKeda,
      {
        basis: 'guide-default',
      },
    ),
    triggerValue: pick('triggerValue', (v) => `${v} messages per worker replica`, sources.kedaParameters),
    scaleUp: pick('scaleUp', (v) => `scale up by ${policyText(v, '+')}`, sources.kedaBehavior),
    scaleDown: pick('scaleDown', (v) => `scale down by ${policyText(v, '−')}`, sources.kedaBehavior),
    trigger: kedaTriggerProtocol(),
  };
}

/** sentinel-tuning-guide.md "KEDA Auto-Scaling > Calculating Max Workers": RabbitMQ's default channel_max. */
export const RABBITMQ_DEFAULT_CHANNEL_MAX = 2047;

export interface MaxWorkersLimits {
  /** PostgreSQL max_connections; with superuser reserved slots and overhead subtracted. */
  maxConnections?: number;
  superuserReservedConnections?: number;
  /** Other clients' connections (API pools etc.) that share max_connections; default the guide's 10. */
  overhead?: number;
  /** RabbitMQ channel_max (per connection), default 2047. */
  channelMax?: number;
}

/**
 * max_workers = maxReplicaCount × WORKER_POOL_SIZE (the guide's default: 50 × 4 = 200 concurrent
 * executions), with warnings when PostgreSQL or RabbitMQ cannot carry that many. RabbitMQ's
 * channel_max is per connection: one pod's pool (one channel per worker goroutine on its own
 * connection) must fit in it; the guide's check of the total against 2047 is the conservative reading
 * and only a warning.
 */
export function maxWorkers(
  maxReplicaCount: number,
  workerPoolSize: number,
  limits: MaxWorkersLimits = {},
): Recommendation<number> {
  const value = maxReplicaCount * workerPoolSize;
  const warnings: TunerWarning[] = [];
  let reason = `${maxReplicaCount} max replicas × ${workerPoolSize} WORKER_POOL_SIZE = ${value} concurrent executions`;
  if (limits.maxConnections !== undefined) {
    const su = limits.superuserReservedConnections ?? PG_DEFAULT_SUPERUSER_RESERVED;
    const overhead = limits.overhead ?? PG_CONNECTION_OVERHEAD;
    const usable = limits.maxConnections - su - overhead;
    reason += `; PostgreSQL carries ${limits.maxConnections} − ${su} reserved − ${overhead} overhead = ${usable}`;
    if (value > usable) {
      const fitReplicas = Math.max(0, Math.floor(usable / workerPoolSize));
      warnings.push({
        code: 'max-workers-exceed-max-connections',
        message:
          `${value} concurrent executions need ${value + overhead + su} connections but max_connections is ${limits.maxConnections}; ` +
          `raise max_connections to ≥ ${value + overhead + su} or lower maxReplicaCount to ${fitReplicas}.`,
        source: sources.kedaMaxWorkers,
      });
    }
  }
  const channelMax = limits.channelMax ?? RABBITMQ_DEFAULT_CHANNEL_MAX;
  reason += `; RabbitMQ channel_max ${channelMax}`;
  if (workerPoolSize > channelMax) {
    warnings.push({
      code: 'pool-exceeds-channel-max',
      message: `One worker pod opens ${workerPoolSize} channels on its connection, more than channel_max ${channelMax}.`,
      source: sources.rabbitChannels,
    });
  } else if (value > channelMax) {
    warnings.push({
      code: 'max-workers-exceed-channel-max',
      message:
        `${value} channels in total exceed channel_max ${channelMax}; fine while each pod uses its own connection ` +
        `(${workerPoolSize} channels each), broken if the workers share one.`,
      source: sources.kedaMaxWorkers,
    });
  }
  return recommend(value, reason, sources.kedaMaxWorkers, { basis: 'guide-formula', warnings });
}

/**
 * The trigger trap (docs/design.md "Tuners", known traps): over AMQP, KEDA's rabbitmq scaler counts only
 * *ready* messages; the ones already delivered into consumers' prefetch buffers (unacknowledged) are
 * invisible, so a queue whose work is all in flight reads as empty and KEDA scales the workers that
 * hold it down to idle after cooldownPeriod. Over the management HTTP API, ready + unacknowledged
 * messages count. Hence `protocol: http`, `mode: QueueLength`.
 */
export function kedaTriggerProtocol(current?: {
  protocol?: KedaTriggerProtocol;
  mode?: KedaTriggerMode;
  /** The host URL scheme ("amqp", "amqps", "http", "https"): decides `auto`. */
  hostScheme?: string;
  pollingInterval?: number;
}): Recommendation<{ protocol: 'http'; mode: 'QueueLength' }> {
  const warnings: TunerWarning[] = [];
  const effective = current ? effectiveProtocol(current.protocol, current.hostScheme) : undefined;
  if (effective === 'amqp') {
    warnings.push({
      code: 'keda-amqp-counts-ready-only',
      message:
        'The trigger reads the queue over AMQP, which counts only ready messages: messages prefetched by busy workers are invisible, ' +
        'so KEDA can scale working pods down. Use protocol http (the management API) with mode QueueLength.',
      source: sources.ownKedaTrigger,
    });
  }
  if (current?.mode === 'MessageRate') {
    warnings.push({
      code: 'keda-message-rate-mode',
      message:
        'mode MessageRate scales on the publish rate, not on the backlog the workers must drain; use QueueLength.',
      source: sources.kedaParameters,
    });
  }
  if (current?.pollingInterval !== undefined && current.pollingInterval < 5) {
    warnings.push({
      code: 'keda-polling-faster-than-stats',
      message: `pollingInterval ${current.pollingInterval}s is shorter than the management API's statistics refresh (collect_statistics_interval, 5 s by default); some polls will see the same count.`,
      source: sources.kedaProfiles,
    });
  }
  return recommend(
    { protocol: 'http', mode: 'QueueLength' },
    'protocol http counts ready + unacknowledged messages; over amqp the messages in prefetch buffers are invisible to KEDA',
    sources.ownKedaTrigger,
    { basis: 'guide-default', warnings },
  );
}

/** Which protocol a rabbitmq trigger really uses: `auto` follows the host URL's scheme. */
export function effectiveProtocol(
  protocol: KedaTriggerProtocol | undefined,
  hostScheme: string | undefined,
): 'amqp' | 'http' | undefined {
  if (protocol === 'amqp' || protocol === 'http') return protocol;
  if (hostScheme === undefined) return undefined;
  const scheme = hostScheme.replace(/:$/, '').toLowerCase();
  if (scheme === 'amqp' || scheme === 'amqps') return 'amqp';
  if (scheme === 'http' || scheme === 'https') return 'http';
  return undefined;
}
