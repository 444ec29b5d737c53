import { describe, expect, test } from 'vitest';
import type { KedaTriggerMode, KedaTriggerProtocol } from '../../../src/tuners/facts.js';
import {
  effectiveProtocol,
  type KedaSettings,
  type KedaWorkload,
  kedaScaledObject,
  kedaTriggerProtocol,
  kedaWorkloadTable,
  type MaxWorkersLimits,
  maxWorkers,
} from '../../../src/tuners/keda.js';

const up = (value: number, period: number) => ({ type: 'Pods' as const, value, periodSeconds: period });

/** sentinel-tuning-guide.md "KEDA Auto-Scaling": parameters, behaviour, and the two profiles as listed. */
const expected: Record<KedaWorkload, KedaSettings> = {
  default: {
    pollingInterval: 5,
    cooldownPeriod: 60,
    minReplicaCount: 2,
    maxReplicaCount: 50,
    idleReplicaCount: 0,
    triggerValue: 15,
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [up(5, 30), { type: 'Percent', value: 100, periodSeconds: 30 }],
    },
    scaleDown: { stabilizationWindowSeconds: 120, selectPolicy: 'Max', policies: [up(2, 60)] },
  },
  bursty: {
    pollingInterval: 3,
    cooldownPeriod: 60,
    minReplicaCount: 2,
    maxReplicaCount: 50,
    idleReplicaCount: 0,
    triggerValue: 5,
    scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [up(10, 15)] },
    scaleDown: { stabilizationWindowSeconds: 120, selectPolicy: 'Max', policies: [up(2, 60)] },
  },
  steady: {
    pollingInterval: 10,
    cooldownPeriod: 60,
    minReplicaCount: 2,
    maxReplicaCount: 50,
    idleReplicaCount: 0,
    triggerValue: 30,
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [up(5, 30), { type: 'Percent', value: 100, periodSeconds: 30 }],
    },
    scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [up(2, 60)] },
  },
};

describe('KEDA workload table', () => {
  test.each(Object.keys(expected) as KedaWorkload[])('%s', (workload) => {
    expect(kedaWorkloadTable[workload]).toEqual(expected[workload]);
    const rec = kedaScaledObject(workload);
    const values = {
      pollingInterval: rec.pollingInterval.value,
      cooldownPeriod: rec.cooldownPeriod.value,
      minReplicaCount: rec.minReplicaCount.value,
      maxReplicaCount: rec.maxReplicaCount.value,
      idleReplicaCount: rec.idleReplicaCount.value,
      triggerValue: rec.triggerValue.value,
      scaleUp: rec.scaleUp.value,
      scaleDown: rec.scaleDown.value,
    };
    expect(values).toEqual(expected[workload]);
    expect(rec.trigger.value).toEqual({ protocol: 'http', mode: 'QueueLength' });
  });

  test.each<[KedaWorkload, keyof ReturnType<typeof kedaScaledObject>, string, string]>([
    [
      'default',
      'pollingInterval',
      'check the queue every 5s (guide default)',
      'KEDA Auto-Scaling > ScaledObject Parameters',
    ],
    [
      'bursty',
      'pollingInterval',
      'bursty workload: check the queue every 3s (react faster)',
      'KEDA Auto-Scaling > Tuning Recommendations',
    ],
    [
      'steady',
      'pollingInterval',
      'steady workload: check the queue every 10s (less API overhead)',
      'KEDA Auto-Scaling > Tuning Recommendations',
    ],
    [
      'bursty',
      'triggerValue',
      'bursty workload: 5 messages per worker replica (scale earlier)',
      'KEDA Auto-Scaling > Tuning Recommendations',
    ],
    [
      'steady',
      'triggerValue',
      'steady workload: 30 messages per worker replica (each worker handles more)',
      'KEDA Auto-Scaling > Tuning Recommendations',
    ],
    [
      'default',
      'triggerValue',
      '15 messages per worker replica (guide default)',
      'KEDA Auto-Scaling > ScaledObject Parameters',
    ],
    [
      'default',
      'scaleUp',
      'scale up by max of +5 pods / 30s or +100% / 30s, 0s stabilization (guide default)',
      'KEDA Auto-Scaling > Scaling Behavior',
    ],
    [
      'bursty',
      'scaleUp',
      'bursty workload: scale up by +10 pods / 15s, 0s stabilization (ramp aggressively)',
      'KEDA Auto-Scaling > Tuning Recommendations',
    ],
    [
      'default',
      'scaleDown',
      'scale down by −2 pods / 60s, 120s stabilization (guide default)',
      'KEDA Auto-Scaling > Scaling Behavior',
    ],
    [
      'steady',
      'scaleDown',
      'steady workload: scale down by −2 pods / 60s, 300s stabilization (5 min cooldown)',
      'KEDA Auto-Scaling > Tuning Recommendations',
    ],
    [
      'default',
      'cooldownPeriod',
      'wait 60s before scaling to idle (guide default)',
      'KEDA Auto-Scaling > ScaledObject Parameters',
    ],
    [
      'default',
      'idleReplicaCount',
      '0 pods when the queue is idle (scales to zero)',
      'Scaling Configuration > Worker Auto-Scaling (KEDA)',
    ],
  ])('%s %s', (workload, key, reason, section) => {
    const rec = kedaScaledObject(workload)[key];
    expect(rec.reason).toBe(reason);
    expect(rec.source.section).toBe(section);
  });

  test('maxReplicaCount can be set explicitly', () => {
    const rec = kedaScaledObject('default', { maxReplicaCount: 20 }).maxReplicaCount;
    expect(rec.value).toBe(20);
    expect(rec.reason).toBe("20 pods (set explicitly; the guide's default is 50)");
  });
});

describe('max_workers = maxReplicaCount × WORKER_POOL_SIZE', () => {
  test.each<[number, number, MaxWorkersLimits, number, string[]]>([
    // The guide's default: 50 × 4 = 200.
    [50, 4, {}, 200, []],
    // max_connections ≥ 200 + overhead: 213 carries it exactly (213 − 3 − 10 = 200).
    [50, 4, { maxConnections: 213 }, 200, []],
    [50, 4, { maxConnections: 212 }, 200, ['max-workers-exceed-max-connections']],
    [50, 4, { maxConnections: 100 }, 200, ['max-workers-exceed-max-connections']],
    [50, 4, { maxConnections: 300 }, 200, []],
    [2, 4, { maxConnections: 100 }, 8, []],
    // Channels: 512 × 4 = 2048 > 2047 in total, but each pod has its own connection.
    [512, 4, {}, 2048, ['max-workers-exceed-channel-max']],
    [511, 4, {}, 2044, []],
    [1, 3000, {}, 3000, ['pool-exceeds-channel-max']],
    [50, 4, { channelMax: 128 }, 200, ['max-workers-exceed-channel-max']],
    [
      50,
      4,
      { maxConnections: 100, channelMax: 100 },
      200,
      ['max-workers-exceed-max-connections', 'max-workers-exceed-channel-max'],
    ],
  ])('%i × %i with %j → %i', (replicas, pool, limits, value, codes) => {
    const rec = maxWorkers(replicas, pool, limits);
    expect(rec.value).toBe(value);
    expect((rec.warnings ?? []).map((w) => w.code)).toEqual(codes);
  });

  test('reason and the fix carry the numbers', () => {
    const rec = maxWorkers(50, 4, { maxConnections: 100 });
    expect(rec.reason).toBe(
      '50 max replicas × 4 WORKER_POOL_SIZE = 200 concurrent executions; PostgreSQL carries 100 − 3 reserved − 10 overhead = 87; RabbitMQ channel_max 2047',
    );
    expect(rec.warnings?.[0]?.message).toBe(
      '200 concurrent executions need 213 connections but max_connections is 100; raise max_connections to ≥ 213 or lower maxReplicaCount to 21.',
    );
    expect(rec.source).toEqual({
      guide: 'sentinel-tuning-guide.md',
      section: 'KEDA Auto-Scaling > Calculating Max Workers',
    });
  });
});

describe('KEDA rabbitmq trigger: AMQP counts ready messages only', () => {
  test.each<[KedaTriggerProtocol | undefined, string | undefined, 'amqp' | 'http' | undefined]>([
    ['amqp', undefined, 'amqp'],
    ['http', 'amqp', 'http'],
    ['auto', 'amqp', 'amqp'],
    ['auto', 'amqps:', 'amqp'],
    ['auto', 'https', 'http'],
    [undefined, 'HTTP', 'http'],
    ['auto', undefined, undefined],
    [undefined, 'ftp', undefined],
  ])('protocol %j, host scheme %j → %j', (protocol, scheme, effective) => {
    expect(effectiveProtocol(protocol, scheme)).toBe(effective);
  });

  test.each<[Parameters<typeof kedaTriggerProtocol>[0], string[]]>([
    [undefined, []],
    [{ protocol: 'http', mode: 'QueueLength' }, []],
    [{ protocol: 'amqp', mode: 'QueueLength' }, ['keda-amqp-counts-ready-only']],
    [{ protocol: 'auto', hostScheme: 'amqp' }, ['keda-amqp-counts-ready-only']],
    [{ protocol: 'auto', hostScheme: 'http' }, []],
    [{ protocol: 'http', mode: 'MessageRate' as KedaTriggerMode }, ['keda-message-rate-mode']],
    [{ protocol: 'http', pollingInterval: 3 }, ['keda-polling-faster-than-stats']],
    [{ protocol: 'http', pollingInterval: 5 }, []],
    [
      { protocol: 'amqp', mode: 'MessageRate', pollingInterval: 1 },
      ['keda-amqp-counts-ready-only', 'keda-message-rate-mode', 'keda-polling-faster-than-stats'],
    ],
  ])('%j warns %j', (current, codes) => {
    const rec = kedaTriggerProtocol(current);
    expect(rec.value).toEqual({ protocol: 'http', mode: 'QueueLength' });
    expect((rec.warnings ?? []).map((w) => w.code)).toEqual(codes);
  });

  test('the reason names the trap', () => {
    expect(kedaTriggerProtocol().reason).toBe(
      'protocol http counts ready + unacknowledged messages; over amqp the messages in prefetch buffers are invisible to KEDA',
    );
  });
});
