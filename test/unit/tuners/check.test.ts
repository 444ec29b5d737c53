import { describe, expect, test } from 'vitest';
import {
  type CheckOutcome,
  checkApiPoolPerPod,
  checkKedaCooldown,
  checkKedaTrigger,
  checkMaxWorkersVsChannelMax,
  checkMaxWorkersVsMaxConnections,
  checkPgxPoolExplicit,
  checkPoolsVsMaxConnections,
  checkPrefetchVsConsumerTimeout,
  checkRateLimitVsBench,
  checkRedis,
  checks,
  checkWorkerPoolVsCapacity,
  checkWorkerResourcesVsPool,
  checkWriteTimeout,
  runChecks,
} from '../../../src/tuners/check.js';
import { type Fact, fact, type TuningFacts } from '../../../src/tuners/facts.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const m = <T>(value: T, detail = 'k8s/') => fact(value, 'manifest', detail);
const live = <T>(value: T, detail = 'live') => fact(value, 'live', detail);

/** What a check produced: finding ids, or `skip:` plus the facts it lacked. */
function ids(outcome: CheckOutcome): string[] {
  return 'missing' in outcome ? outcome.missing.map((k) => `skip:${k}`) : outcome.findings.map((f) => f.id);
}

/** The guide's production: 3 API × 20, KEDA 2..50 workers × 4, max_connections 300, prefetch 1. */
const prod: TuningFacts = {
  worker: {
    replicas: m(2),
    poolSize: m(4),
    prefetch: m(1),
    cpuMillicores: m(4000),
    memoryBytes: m(2 * GiB),
    requests: { cpuMillicores: m(2000), memoryBytes: m(1 * GiB) },
    limits: { cpuMillicores: m(4000), memoryBytes: m(2 * GiB) },
  },
  api: {
    replicas: m(3),
    hpaMaxReplicas: m(3),
    poolMaxConns: m(20),
    poolMinConns: m(5),
    writeTimeoutMs: m(30_000),
    rateLimitPerMinute: m(1000),
  },
  postgres: { maxConnections: m(300), superuserReservedConnections: live(3) },
  rabbitmq: { consumerTimeoutMs: live(1_800_000), channelMax: live(2047) },
  redis: {
    maxmemoryBytes: m(128 * MiB),
    maxmemoryPolicy: m('allkeys-lru'),
    keys: live(10_000),
    usedMemoryBytes: live(20 * MiB),
  },
  keda: {
    pollingInterval: m(5),
    cooldownPeriod: m(60),
    minReplicaCount: m(2),
    maxReplicaCount: m(50),
    triggerValue: m(15),
    protocol: m('http' as const),
    mode: m('QueueLength' as const),
  },
  execution: live({ p50Ms: 175, p99Ms: 9000, count: 1000 }, 'worker /metrics'),
  bench: { requestsPerSecond: fact(10, 'flag', '--rate'), clientIps: fact(1, 'default', 'local') },
};

/** A deep-ish override of the prod facts. */
function withFacts(patch: (f: TuningFacts) => void): TuningFacts {
  const copy = structuredClone(prod);
  patch(copy);
  return copy;
}

describe('runChecks over the guide’s production settings', () => {
  test('everything passes', () => {
    const report = runChecks(prod);
    expect(report.findings).toEqual([]);
    expect(report.skipped).toEqual([]);
    expect(report.passed).toEqual(checks.map((c) => c.id));
  });

  test('no facts: every check is skipped and says what it lacked', () => {
    const report = runChecks({});
    expect(report.findings).toEqual([]);
    expect(report.passed).toEqual([]);
    expect(report.skipped).toEqual([
      {
        id: 'pools-vs-max-connections',
        missing: [
          'postgres.maxConnections',
          'api.replicas',
          'api.poolMaxConns',
          'keda.maxReplicaCount|worker.replicas',
        ],
      },
      { id: 'pgx-pool-implicit', missing: ['api.poolMaxConns'] },
      {
        id: 'max-workers-vs-max-connections',
        missing: ['keda.maxReplicaCount', 'worker.poolSize', 'postgres.maxConnections'],
      },
      {
        id: 'max-workers-vs-channel-max',
        missing: ['worker.poolSize', 'keda.maxReplicaCount|worker.replicas'],
      },
      { id: 'worker-resources-vs-pool', missing: ['worker.poolSize', 'worker.requests|worker.limits'] },
      {
        id: 'worker-pool-vs-capacity',
        missing: ['worker.poolSize', 'worker.cpuMillicores', 'worker.memoryBytes'],
      },
      { id: 'write-timeout-vs-stream', missing: ['api.writeTimeoutMs'] },
      { id: 'rate-limit-vs-bench', missing: ['api.rateLimitPerMinute', 'bench.requestsPerSecond'] },
      { id: 'prefetch-vs-consumer-timeout', missing: ['worker.prefetch', 'execution'] },
      {
        id: 'keda-cooldown-vs-message-time',
        missing: ['keda.cooldownPeriod', 'worker.prefetch', 'execution'],
      },
      { id: 'keda-trigger', missing: ['keda.protocol|keda.hostScheme'] },
      { id: 'api-pool-per-pod', missing: ['api.poolMaxConns'] },
      { id: 'api-hpa', missing: ['api.hpaMaxReplicas', 'api.replicas', 'api.poolMaxConns'] },
      { id: 'redis', missing: ['redis.maxmemoryBytes|redis.maxmemoryPolicy'] },
    ]);
  });

  test('an API autoscaler that scales past the counted replicas: the extra connections', () => {
    const report = runChecks({ ...prod, api: { ...prod.api, hpaMaxReplicas: m(10) } }, ['api-hpa']);
    expect(report.findings.map((f) => [f.id, f.severity, f.message])).toEqual([
      [
        'api-hpa-vs-max-connections',
        'warning',
        "The API's HorizontalPodAutoscaler scales to 10 replicas × pool_max_conns 20 = 200 connections, 140 more than the 3 × 20 counted (k8s/).",
      ],
    ]);
  });

  test('`only` restricts the checks', () => {
    const report = runChecks(prod, ['keda-trigger', 'redis']);
    expect(report.passed).toEqual(['keda-trigger', 'redis']);
  });
});

describe('sum of pools vs max_connections − superuser_reserved_connections', () => {
  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['300 carries 3 × 20 + max(50 × 2, 50 × 4) + 10 = 270', () => {}, []],
    // PostgreSQL's default 100: 270 > 97.
    ['PostgreSQL default 100', (f) => (f.postgres!.maxConnections = m(100)), ['pools-vs-max-connections']],
    // The API pools and the executions are open at once: 270 + 3 = 273, not max(170, 210) + 3.
    ['273 exactly', (f) => (f.postgres!.maxConnections = m(273)), []],
    ['272 is one short', (f) => (f.postgres!.maxConnections = m(272)), ['pools-vs-max-connections']],
    [
      '213 carries max_workers alone but not the API pools too',
      (f) => (f.postgres!.maxConnections = m(213)),
      ['pools-vs-max-connections'],
    ],
    [
      'superuser_reserved_connections counted',
      (f) => {
        f.postgres!.maxConnections = m(275);
        f.postgres!.superuserReservedConnections = live(6);
      },
      ['pools-vs-max-connections'],
    ],
    [
      'PostgreSQL 16 reserved_connections counted',
      (f) => {
        f.postgres!.maxConnections = m(275);
        f.postgres!.reservedConnections = live(3);
      },
      ['pools-vs-max-connections'],
    ],
    [
      'no KEDA 173 is enough for 3 × 20 + 50 × 2 + 10',
      (f) => {
        delete f.keda;
        f.worker!.replicas = m(50);
        f.postgres!.maxConnections = m(173);
      },
      [],
    ],
    [
      'no KEDA: the Deployment replicas count',
      (f) => {
        delete f.keda;
        f.postgres!.maxConnections = m(77);
      },
      [],
    ],
    [
      'an implicit pgx pool on a 64-core node',
      (f) => {
        f.api!.poolMaxConns = m(null);
        f.api!.numCpu = live(64, 'runtime.NumCPU');
      },
      ['pools-vs-max-connections'],
    ],
    [
      'an implicit pool without NumCPU cannot be summed',
      (f) => (f.api!.poolMaxConns = m(null)),
      ['skip:api.poolMaxConns'],
    ],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkPoolsVsMaxConnections(withFacts(patch)))).toEqual(expected);
  });

  test('the finding carries the numbers, the fix and the evidence', () => {
    const outcome = checkPoolsVsMaxConnections(withFacts((f) => (f.postgres!.maxConnections = m(100))));
    expect('findings' in outcome && outcome.findings[0]).toMatchObject({
      id: 'pools-vs-max-connections',
      severity: 'error',
      message:
        'API 3 × 20 + workers max(50 × 2, 50 × 4 executions) + overhead 10 = 270 connections, but max_connections 100 − 3 superuser_reserved_connections = 97 are usable.',
      fix: 'Raise max_connections to ≥ 273 (sentinel-ctl tune pool --write).',
      source: { guide: 'sentinel-tuning-guide.md', section: 'KEDA Auto-Scaling > Calculating Max Workers' },
    });
  });

  test('the fix offers a smaller pool when one fits', () => {
    const outcome = checkPoolsVsMaxConnections(
      withFacts((f) => {
        delete f.keda;
        f.postgres!.maxConnections = m(60);
      }),
    );
    // 60 − 3 = 57 usable; 57 − 2 × 2 − 10 = 43; / 3 = 14.
    expect('findings' in outcome && outcome.findings[0]?.fix).toBe(
      'Raise max_connections to ≥ 77, or lower pool_max_conns to 14 per API replica (sentinel-ctl tune pool --write).',
    );
  });
});

describe('explicit pgx pool', () => {
  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['explicit', () => {}, []],
    [
      'unset',
      (f) => (f.api!.poolMaxConns = m(null, 'secret.yaml: Secret/db DATABASE_URL')),
      ['pgx-pool-implicit'],
    ],
    ['unknown URL', (f) => delete f.api!.poolMaxConns, ['skip:api.poolMaxConns']],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkPgxPoolExplicit(withFacts(patch)))).toEqual(expected);
  });

  test('message multiplies by replicas', () => {
    const outcome = checkPgxPoolExplicit(
      withFacts((f) => {
        f.api!.poolMaxConns = m(null, 'secret.yaml: Secret/db DATABASE_URL');
        f.api!.numCpu = live(64);
      }),
    );
    expect('findings' in outcome && outcome.findings[0]?.message).toBe(
      'DATABASE_URL (secret.yaml: Secret/db DATABASE_URL) sets no pool_max_conns, so pgx opens max(4, 64) = 64 per replica, 192 across 3 replicas.',
    );
  });
});

describe('max_workers vs max_connections and channel_max', () => {
  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['50 × 4 = 200 in 300', () => {}, []],
    // 200 + 10 = 210 needs 213.
    ['213 exactly', (f) => (f.postgres!.maxConnections = m(213)), []],
    ['212 is one short', (f) => (f.postgres!.maxConnections = m(212)), ['max-workers-vs-max-connections']],
    [
      'PostgreSQL default 100',
      (f) => (f.postgres!.maxConnections = m(100)),
      ['max-workers-vs-max-connections'],
    ],
    ['no KEDA', (f) => delete f.keda, ['skip:keda.maxReplicaCount']],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkMaxWorkersVsMaxConnections(withFacts(patch)))).toEqual(expected);
  });

  test('fix', () => {
    const outcome = checkMaxWorkersVsMaxConnections(withFacts((f) => (f.postgres!.maxConnections = m(100))));
    expect('findings' in outcome && outcome.findings[0]?.message).toBe(
      'max_workers 50 × 4 = 200 + overhead 10 = 210 connections, but max_connections 100 − 3 superuser_reserved_connections = 97 are usable.',
    );
    expect('findings' in outcome && outcome.findings[0]?.fix).toBe(
      'Raise max_connections to ≥ 213 (sentinel-ctl tune pool --write), or lower maxReplicaCount to 21 (sentinel-ctl tune keda --max-replicas 21 --write).',
    );
  });

  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['200 channels under 2047', () => {}, []],
    ['2048 channels in total', (f) => (f.keda!.maxReplicaCount = m(512)), ['max-workers-vs-channel-max']],
    ['2044 channels in total', (f) => (f.keda!.maxReplicaCount = m(511)), []],
    ['a pool wider than channel_max', (f) => (f.rabbitmq!.channelMax = live(2)), ['pool-vs-channel-max']],
    ['channel_max defaults to 2047', (f) => delete f.rabbitmq, []],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkMaxWorkersVsChannelMax(withFacts(patch)))).toEqual(expected);
  });
});

describe('worker resources vs pool size', () => {
  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['the guide’s values for pool 4', () => {}, []],
    [
      'the guide’s example requests (1 / 512Mi) under pool 4',
      (f) => (f.worker!.requests = { cpuMillicores: m(1000), memoryBytes: m(512 * MiB) }),
      ['worker-cpu-request-vs-pool', 'worker-memory-request-vs-pool'],
    ],
    [
      'memory limit under 4 × 512Mi',
      (f) => (f.worker!.limits!.memoryBytes = m(1536 * MiB)),
      ['worker-memory-limit-vs-pool'],
    ],
    ['memory limit exactly 2Gi', (f) => (f.worker!.limits!.memoryBytes = m(2 * GiB)), []],
    ['cpu request exactly 2', (f) => (f.worker!.requests!.cpuMillicores = m(2000)), []],
    [
      'cpu request 1999m',
      (f) => (f.worker!.requests!.cpuMillicores = m(1999)),
      ['worker-cpu-request-vs-pool'],
    ],
    [
      'no resources at all',
      (f) => {
        delete f.worker!.requests;
        delete f.worker!.limits;
      },
      ['skip:worker.requests|worker.limits'],
    ],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkWorkerResourcesVsPool(withFacts(patch)))).toEqual(expected);
  });

  test('message and fix', () => {
    const outcome = checkWorkerResourcesVsPool(
      withFacts((f) => (f.worker!.limits!.memoryBytes = m(1 * GiB))),
    );
    expect('findings' in outcome && outcome.findings[0]).toMatchObject({
      message:
        "The worker's memory limit 1Gi is below 4 sandboxes × 512Mi (C++ compile) = 2Gi; a burst of compiles gets the pod OOM-killed.",
      fix: 'Set resources.limits.memory to "2Gi" or lower WORKER_POOL_SIZE (sentinel-ctl tune pool --write).',
    });
  });

  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['pool 4 in 4 cores / 2 GiB', () => {}, []],
    [
      'pool 4 in 2 cores (from the cgroup)',
      (f) => (f.worker!.cpuMillicores = fact(2000, 'cgroup', 'cpu.max')),
      ['worker-pool-vs-capacity'],
    ],
    ['pool 4 in 1 GiB', (f) => (f.worker!.memoryBytes = m(1 * GiB)), ['worker-pool-vs-capacity']],
    [
      'pool 2 in 2 cores',
      (f) => {
        f.worker!.poolSize = m(2);
        f.worker!.cpuMillicores = m(2000);
      },
      [],
    ],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkWorkerPoolVsCapacity(withFacts(patch)))).toEqual(expected);
  });

  test('capacity message names the formula and the provenance', () => {
    const outcome = checkWorkerPoolVsCapacity(
      withFacts((f) => (f.worker!.cpuMillicores = fact(2000, 'cgroup', 'cpu.max'))),
    );
    expect('findings' in outcome && outcome.findings[0]?.message).toBe(
      'WORKER_POOL_SIZE 4 exceeds what the pod can run at once: min(2 cores, 2 GiB / 0.5) = 2 (CPU bounds it) (CPU 2 from cgroup, memory 2Gi from manifest).',
    );
  });
});

describe('API write timeout and rate limit', () => {
  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['30s covers 10s', () => {}, []],
    ['10s exactly', (f) => (f.api!.writeTimeoutMs = m(10_000)), []],
    ['5s', (f) => (f.api!.writeTimeoutMs = m(5000)), ['write-timeout-vs-stream']],
    [
      'a measured 45 s stream',
      (f) => (f.longestStreamMs = live(45_000, 'bench: longest WebSocket')),
      ['write-timeout-vs-stream'],
    ],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkWriteTimeout(withFacts(patch)))).toEqual(expected);
  });

  test('write timeout message', () => {
    const outcome = checkWriteTimeout(withFacts((f) => (f.api!.writeTimeoutMs = m(5000))));
    expect('findings' in outcome && outcome.findings[0]?.message).toBe(
      'API_WRITE_TIMEOUT 5s is shorter than the longest stream, 10s: responses are cut off.',
    );
  });

  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['10 req/s = 600/min under 1000/min', () => {}, []],
    ['600/min exactly', (f) => (f.api!.rateLimitPerMinute = m(600)), []],
    ['599/min', (f) => (f.api!.rateLimitPerMinute = m(599)), ['rate-limit-vs-bench']],
    ['dev limit 100/min', (f) => (f.api!.rateLimitPerMinute = m(100)), ['rate-limit-vs-bench']],
    [
      'spread over 10 client IPs',
      (f) => {
        f.api!.rateLimitPerMinute = m(100);
        f.bench!.clientIps = fact(10, 'flag', '--source-ips');
      },
      [],
    ],
    ['no bench', (f) => delete f.bench, ['skip:bench.requestsPerSecond']],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkRateLimitVsBench(withFacts(patch)))).toEqual(expected);
  });

  test('rate limit message', () => {
    const outcome = checkRateLimitVsBench(withFacts((f) => (f.api!.rateLimitPerMinute = m(100))));
    expect('findings' in outcome && outcome.findings[0]).toMatchObject({
      message:
        'The bench sends 10 req/s from 1 client IP = 600 per minute per IP, above API_RATE_LIMIT 100/min: most requests will get 429.',
      fix: 'Raise API_RATE_LIMIT to ≥ 600 for the bench (production: 500–1000 behind a CDN), or lower the bench rate.',
    });
  });
});

describe('prefetch × p99 vs consumer_timeout, and KEDA cooldown', () => {
  const exec = (p99Ms: number): Fact<{ p50Ms: number; p99Ms: number }> => live({ p50Ms: 100, p99Ms });
  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['1 × 9 s in 30 min', () => {}, []],
    [
      '10 × 3 min = 30 min is not below 30 min',
      (f) => {
        f.worker!.prefetch = m(10);
        f.execution = exec(180_000);
      },
      ['prefetch-vs-consumer-timeout'],
    ],
    [
      '10 × 179.999 s fits',
      (f) => {
        f.worker!.prefetch = m(10);
        f.execution = exec(179_999);
      },
      [],
    ],
    ['default consumer_timeout', (f) => delete f.rabbitmq, []],
    [
      'a 5 s consumer_timeout',
      (f) => (f.rabbitmq!.consumerTimeoutMs = live(5000)),
      ['prefetch-vs-consumer-timeout'],
    ],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkPrefetchVsConsumerTimeout(withFacts(patch)))).toEqual(expected);
  });

  test('consumer_timeout message and fix', () => {
    const outcome = checkPrefetchVsConsumerTimeout(
      withFacts((f) => {
        f.worker!.prefetch = m(10);
        f.execution = exec(200_000);
      }),
    );
    expect('findings' in outcome && outcome.findings[0]).toMatchObject({
      message:
        'prefetch 10 × p99 200000 ms = 2000000 ms is not below consumer_timeout 1800000 ms (30m): the last prefetched message times out, the channel closes and the messages are redelivered.',
      fix: 'Lower the prefetch to 8 (sentinel-ctl tune prefetch --write) or raise consumer_timeout.',
    });
  });

  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['60 s cooldown vs 1 × 9 s', () => {}, []],
    ['60 s exactly', (f) => (f.execution = exec(60_000)), []],
    ['prefetch 10 × 9 s = 90 s', (f) => (f.worker!.prefetch = m(10)), ['keda-cooldown-vs-message-time']],
    ['cooldown 5 s', (f) => (f.keda!.cooldownPeriod = m(5)), ['keda-cooldown-vs-message-time']],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkKedaCooldown(withFacts(patch)))).toEqual(expected);
  });

  test('cooldown fix', () => {
    const outcome = checkKedaCooldown(withFacts((f) => (f.worker!.prefetch = m(10))));
    expect('findings' in outcome && outcome.findings[0]?.fix).toBe(
      'Set cooldownPeriod to at least 90 (sentinel-ctl tune keda --write).',
    );
  });
});

describe('KEDA trigger protocol', () => {
  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['http + QueueLength', () => {}, []],
    ['amqp', (f) => (f.keda!.protocol = m('amqp' as const)), ['keda-trigger-protocol']],
    [
      'auto with an amqp:// host',
      (f) => {
        f.keda!.protocol = m('auto' as const);
        f.keda!.hostScheme = m('amqp');
      },
      ['keda-trigger-protocol'],
    ],
    [
      'auto with an https:// host',
      (f) => {
        f.keda!.protocol = m('auto' as const);
        f.keda!.hostScheme = m('https');
      },
      [],
    ],
    ['MessageRate', (f) => (f.keda!.mode = m('MessageRate' as const)), ['keda-trigger-mode']],
    [
      'amqp and MessageRate',
      (f) => {
        f.keda!.protocol = m('amqp' as const);
        f.keda!.mode = m('MessageRate' as const);
      },
      ['keda-trigger-protocol', 'keda-trigger-mode'],
    ],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkKedaTrigger(withFacts(patch)))).toEqual(expected);
  });

  test('the trap is explained', () => {
    const outcome = checkKedaTrigger(withFacts((f) => (f.keda!.protocol = m('amqp' as const))));
    expect('findings' in outcome && outcome.findings[0]).toMatchObject({
      severity: 'error',
      message:
        'The KEDA rabbitmq trigger reads the queue over AMQP (protocol amqp), which counts only ready messages: messages in the workers’ prefetch buffers are invisible, so a busy queue reads empty and KEDA scales working pods down.',
    });
  });
});

describe('API pool per pod and Redis', () => {
  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['20', () => {}, []],
    ['100 exactly', (f) => (f.api!.poolMaxConns = m(100)), []],
    ['101', (f) => (f.api!.poolMaxConns = m(101)), ['api-pool-per-pod']],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkApiPoolPerPod(withFacts(patch)))).toEqual(expected);
  });

  test.each<[string, (f: TuningFacts) => void, string[]]>([
    ['10K keys in 128mb', () => {}, []],
    // 503316 × 200 = 100663200 ≤ 0.75 × 128 MiB = 100663296.
    ['503316 keys fit', (f) => (f.redis!.keys = live(503_316)), []],
    ['503317 keys do not', (f) => (f.redis!.keys = live(503_317)), ['redis-maxmemory-vs-keys']],
    [
      'measured 400 B per key',
      (f) => {
        f.redis!.keys = live(300_000);
        f.redis!.bytesPerKey = live(400, 'MEMORY USAGE sample');
      },
      ['redis-maxmemory-vs-keys'],
    ],
    ['96mb used = 75 %', (f) => (f.redis!.usedMemoryBytes = live(96 * MiB)), ['redis-memory-target']],
    ['noeviction', (f) => (f.redis!.maxmemoryPolicy = m('noeviction')), ['redis-maxmemory-policy']],
    ['no Redis facts', (f) => delete f.redis, ['skip:redis.maxmemoryBytes|redis.maxmemoryPolicy']],
  ])('%s', (_name, patch, expected) => {
    expect(ids(checkRedis(withFacts(patch)))).toEqual(expected);
  });

  test.each<[number, string, string]>([
    [
      96 * MiB,
      'warning',
      'Redis uses 96mb of maxmemory 128mb = 75 %: warning against the SARK targets (< 75 % target, < 90 % warning, < 95 % critical).',
    ],
    [
      120 * MiB,
      'warning',
      'Redis uses 120mb of maxmemory 128mb = 93.75 %: critical against the SARK targets (< 75 % target, < 90 % warning, < 95 % critical).',
    ],
    [
      128 * MiB,
      'error',
      'Redis uses 128mb of maxmemory 128mb = 100 %: exceeded against the SARK targets (< 75 % target, < 90 % warning, < 95 % critical).',
    ],
  ])('Redis at %i bytes → %s', (used, severity, message) => {
    const outcome = checkRedis(withFacts((f) => (f.redis!.usedMemoryBytes = live(used))));
    expect('findings' in outcome && outcome.findings[0]).toMatchObject({ severity, message });
  });

  test('keys message marks the estimate', () => {
    const outcome = checkRedis(withFacts((f) => (f.redis!.keys = live(1_000_000))));
    expect('findings' in outcome && outcome.findings[0]).toMatchObject({
      message:
        '1000000 keys × 200 B (estimate) = 200000000 is above 75 % of maxmemory 128mb: evictions (and lost idempotency locks) follow.',
      fix: 'Set maxmemory to 255mb (sentinel-ctl tune redis --write).',
    });
  });
});
