import { describe, expect, test } from 'vitest';
import { parseCpuMaxV2, parseMemoryLimitV1, parseMemoryMaxV2 } from '../../../src/tuners/cgroup.js';
import {
  type CapacityCandidates,
  describeFact,
  type Fact,
  fact,
  factValue,
  resolveCapacity,
} from '../../../src/tuners/facts.js';
import { formatCpu } from '../../../src/tuners/units.js';

const GiB = 1024 ** 3;

describe('resolveCapacity: container limits before host totals', () => {
  test.each<[string, 'cpu' | 'memory', CapacityCandidates, Fact<number> | undefined]>([
    [
      'the flag wins over everything',
      'cpu',
      { flag: 8000, manifestLimit: 2000, cgroup: { kind: 'limit', value: 2000 }, host: 64_000 },
      fact(8000, 'flag', '--cpus'),
    ],
    [
      'the pod limit wins over the cgroup and the host',
      'cpu',
      {
        manifestLimit: 4000,
        manifestDetail: 'worker.yaml: Deployment/worker',
        cgroup: parseCpuMaxV2('200000 100000'),
        host: 64_000,
      },
      fact(4000, 'manifest', 'worker.yaml: Deployment/worker resources.limits.cpu'),
    ],
    [
      'a request stands in for a missing limit',
      'memory',
      { manifestRequest: 512 * 1024 ** 2, manifestDetail: 'worker.yaml: Deployment/worker', host: 256 * GiB },
      fact(512 * 1024 ** 2, 'manifest', 'worker.yaml: Deployment/worker resources.requests.memory'),
    ],
    [
      'with --k8s and no pod resources: the smallest node, not this machine or its cgroup',
      'cpu',
      {
        manifestDetail: 'deployment/worker@bare container worker',
        node: 4000,
        nodeDetail: 'node/node-a status.allocatable.cpu (the smallest of 2 nodes)',
        cgroup: parseCpuMaxV2('200000 100000'),
        host: 64_000,
      },
      fact(4000, 'k8s', 'node/node-a status.allocatable.cpu (the smallest of 2 nodes)'),
    ],
    [
      'a pod request still wins over the node',
      'memory',
      { manifestRequest: 512 * 1024 ** 2, node: 16 * GiB, host: 256 * GiB },
      fact(512 * 1024 ** 2, 'manifest', 'manifest resources.requests.memory'),
    ],
    [
      'the cgroup v2 limit wins over the node',
      'cpu',
      { cgroup: parseCpuMaxV2('200000 100000'), host: 64_000, hostDetail: 'os.cpus()' },
      fact(2000, 'cgroup', 'cpu.max'),
    ],
    [
      'cgroup v2 memory.max',
      'memory',
      { cgroup: parseMemoryMaxV2('4294967296'), host: 256 * GiB },
      fact(4 * GiB, 'cgroup', 'memory.max'),
    ],
    [
      'cgroup v1 memory.limit_in_bytes with its detail',
      'memory',
      { cgroup: parseMemoryLimitV1('2147483648'), cgroupDetail: 'memory.limit_in_bytes', host: 16 * GiB },
      fact(2 * GiB, 'cgroup', 'memory.limit_in_bytes'),
    ],
    [
      'cgroup "max" falls through to the host',
      'cpu',
      { cgroup: parseCpuMaxV2('max 100000'), host: 2000, hostDetail: 'os.cpus()' },
      fact(2000, 'host', 'os.cpus()'),
    ],
    [
      'v1 unlimited memory falls through to the host',
      'memory',
      { cgroup: parseMemoryLimitV1('9223372036854771712'), host: 24 * GiB, hostDetail: 'os.totalmem()' },
      fact(24 * GiB, 'host', 'os.totalmem()'),
    ],
    [
      'a cgroup limit above the host total cannot be used: the host wins',
      'memory',
      { cgroup: { kind: 'limit', value: 64 * GiB }, host: 24 * GiB, hostDetail: 'os.totalmem()' },
      fact(24 * GiB, 'host', 'os.totalmem() (below the cgroup limit)'),
    ],
    ['only the host', 'cpu', { host: 2000 }, fact(2000, 'host', 'host')],
    ['nothing known', 'cpu', {}, undefined],
  ])('%s', (_name, resource, candidates, expected) => {
    expect(resolveCapacity(resource, candidates).fact).toEqual(expected);
  });

  test.each<[string, 'cpu' | 'memory', CapacityCandidates, string[]]>([
    [
      'a flag above the container limit is noted',
      'cpu',
      { flag: 8000, cgroup: { kind: 'limit', value: 2000 } },
      ['--cpus 8 is more than the container limit 2; the pool will be sized for 8 as asked.'],
    ],
    ['a flag within the limit is not', 'cpu', { flag: 1000, cgroup: { kind: 'limit', value: 2000 } }, []],
    [
      'sizing for a request is noted',
      'memory',
      { manifestRequest: 512 * 1024 ** 2, manifestDetail: 'w.yaml' },
      ['w.yaml sets no memory limit; sized for its request 512Mi, the only amount the scheduler guarantees.'],
    ],
    [
      'an unlimited cgroup is noted',
      'memory',
      { cgroup: { kind: 'unlimited' }, host: GiB },
      ['memory.max is "max": no container limit, using the host total.'],
    ],
  ])('%s', (_name, resource, candidates, notes) => {
    expect(resolveCapacity(resource, candidates).notes).toEqual(notes);
  });
});

describe('fact helpers', () => {
  test('describeFact shows the value and its provenance', () => {
    expect(describeFact(fact(2000, 'cgroup', 'cpu.max'), formatCpu)).toBe('2 (cgroup: cpu.max)');
    expect(describeFact(fact(3, 'flag', '--api-replicas'))).toBe('3 (flag: --api-replicas)');
  });

  test('factValue of an absent fact is undefined', () => {
    expect(factValue(undefined)).toBeUndefined();
    expect(factValue(fact(5, 'live', 'SHOW max_connections'))).toBe(5);
  });
});
