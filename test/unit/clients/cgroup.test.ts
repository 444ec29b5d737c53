import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { type ContainerLimits, readContainerLimits } from '../../../src/clients/cgroup.js';
import { runTune } from '../../../src/tune-command/run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../fixtures/cgroup');
const root = (name: string) => path.join(fixtures, name);
const GiB = 1024 ** 3;
const limit = (value: number) => ({ kind: 'limit' as const, value });
const unlimited = { kind: 'unlimited' as const };

describe('container limits from fixture cgroup trees', () => {
  test.each<[string, number, Omit<ContainerLimits, 'notes'>]>([
    [
      'v2-pod',
      8,
      {
        version: 'v2',
        cpu: limit(2000),
        cpuDetail:
          'cgroup v2 cpu.max (/kubepods.slice/kubepods-burstable.slice/pod1234/cri-containerd-abc.scope)',
        memory: limit(2 * GiB),
        memoryDetail:
          'cgroup v2 memory.max (/kubepods.slice/kubepods-burstable.slice/pod1234/cri-containerd-abc.scope)',
      },
    ],
    [
      'v2-namespaced',
      8,
      {
        version: 'v2',
        cpu: limit(1500),
        cpuDetail: 'cgroup v2 cpu.max',
        memory: limit(GiB),
        memoryDetail: 'cgroup v2 memory.max',
      },
    ],
    [
      'v2-unlimited',
      8,
      {
        version: 'v2',
        cpu: unlimited,
        cpuDetail: 'cgroup v2 cpu.max',
        memory: unlimited,
        memoryDetail: 'cgroup v2 memory.max',
      },
    ],
    [
      'v2-parent-limit',
      8,
      {
        version: 'v2',
        cpu: limit(500),
        cpuDetail: 'cgroup v2 cpu.max (/kubepods/pod77)',
        memory: limit(512 * 1024 ** 2),
        memoryDetail: 'cgroup v2 memory.max (/kubepods/pod77)',
      },
    ],
    [
      'v2-cpuset',
      8,
      {
        version: 'v2',
        cpu: limit(2000),
        cpuDetail: 'cgroup v2 cpuset.cpus.effective (2 CPUs)',
        memory: unlimited,
        memoryDetail: 'cgroup v2 memory.max',
      },
    ],
    [
      'v2-cpuset',
      2,
      {
        version: 'v2',
        cpu: unlimited,
        cpuDetail: 'cgroup v2 cpu.max',
        memory: unlimited,
        memoryDetail: 'cgroup v2 memory.max',
      },
    ],
    [
      'v1-docker',
      8,
      {
        version: 'v1',
        cpu: limit(500),
        cpuDetail: 'cgroup v1 cpu.cfs_quota_us (/docker/4f1e)',
        memory: limit(GiB),
        memoryDetail: 'cgroup v1 memory.limit_in_bytes (/docker/4f1e)',
      },
    ],
    [
      'v1-root',
      8,
      {
        version: 'v1',
        cpu: limit(2500),
        cpuDetail: 'cgroup v1 cpu.cfs_quota_us',
        memory: limit(256 * 1024 ** 2),
        memoryDetail: 'cgroup v1 memory.limit_in_bytes',
      },
    ],
    [
      'v1-unlimited',
      8,
      {
        version: 'v1',
        cpu: unlimited,
        cpuDetail: 'cgroup v1 cpu.cfs_quota_us',
        memory: unlimited,
        memoryDetail: 'cgroup v1 memory.limit_in_bytes',
      },
    ],
    ['none', 8, { version: 'none' }],
  ])('%s (host with %i CPUs)', (name, hostCpus, expected) => {
    const got = readContainerLimits(root(name), { hostCpus });
    expect({ ...got, notes: undefined }).toEqual({ ...expected, notes: undefined });
    expect(got.notes).toEqual([]);
  });

  test('a malformed file is a note, not a guess', () => {
    const got = readContainerLimits(root('v2-malformed'), { hostCpus: 8 });
    expect(got.cpu).toEqual(unlimited);
    expect(got.memory).toEqual(limit(GiB));
    expect(got.notes).toEqual([
      `cpu.max ${path.join(root('v2-malformed'), 'sys/fs/cgroup/cpu.max')}: cpu.max: expected a non-negative integer, found "lots".`,
    ]);
  });
});

describe('the worker pool is sized for the container, not the host', () => {
  const host = { cpus: 64, memoryBytes: 256 * GiB };
  const pool = async (cgroup: string, flags: { cpus?: number; memory?: number } = {}) => {
    const r = await runTune('pool', {
      profile: 'prod',
      profileFrom: 'flag',
      flags,
      cgroupRoot: root(cgroup),
      host,
    });
    const fact = (name: string) => r.facts.find((f) => f.name === name && f.used);
    return {
      pool: r.rows.find((x) => x.setting === 'WORKER_POOL_SIZE')?.value,
      cpu: fact('worker.cpuMillicores'),
      memory: fact('worker.memoryBytes'),
    };
  };

  test.each<[string, { cpus?: number; memory?: number }, number, string, string]>([
    // min(2 cores, 2 GiB / 0.5 = 4) = 2.
    [
      'v2-pod',
      {},
      2,
      'cgroup: cgroup v2 cpu.max (/kubepods.slice/kubepods-burstable.slice/pod1234/cri-containerd-abc.scope)',
      'cgroup: cgroup v2 memory.max (/kubepods.slice/kubepods-burstable.slice/pod1234/cri-containerd-abc.scope)',
    ],
    // min(0.5, 1 GiB / 0.5) → floor(0.5) = 0 → at least 1.
    [
      'v1-docker',
      {},
      1,
      'cgroup: cgroup v1 cpu.cfs_quota_us (/docker/4f1e)',
      'cgroup: cgroup v1 memory.limit_in_bytes (/docker/4f1e)',
    ],
    // No limits: the host, 64 cores and 256 GiB → 64.
    [
      'v1-unlimited',
      {},
      64,
      'host: this machine: os.availableParallelism()',
      'host: this machine: os.totalmem()',
    ],
    // Flags win over the cgroup: min(8, 16 GiB / 0.5) = 8.
    ['v2-pod', { cpus: 8, memory: 16 * GiB }, 8, 'flag: --cpus', 'flag: --memory'],
  ])('%s %j → pool %i', async (cgroup, flags, expected, cpuFrom, memFrom) => {
    const got = await pool(cgroup, flags);
    expect(got.pool).toBe(expected);
    expect(`${got.cpu?.from}: ${got.cpu?.detail}`).toBe(cpuFrom);
    expect(`${got.memory?.from}: ${got.memory?.detail}`).toBe(memFrom);
  });
});
