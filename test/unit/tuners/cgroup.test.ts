import { describe, expect, test } from 'vitest';
import { UserError } from '../../../src/lib/errors.js';
import {
  type CgroupLimit,
  effectiveCpuLimit,
  parseCpuList,
  parseCpuMaxV2,
  parseCpuQuotaV1,
  parseMemoryLimitV1,
  parseMemoryMaxV2,
  parseProcSelfCgroup,
} from '../../../src/tuners/cgroup.js';

const unlimited: CgroupLimit = { kind: 'unlimited' };
const limit = (value: number): CgroupLimit => ({ kind: 'limit', value });

describe('cgroup v2 cpu.max', () => {
  test.each<[string, CgroupLimit]>([
    ['max 100000\n', unlimited],
    ['max', unlimited],
    ['200000 100000\n', limit(2000)],
    ['150000 100000', limit(1500)],
    ['50000 100000', limit(500)],
    ['100000 100000', limit(1000)],
    ['25000 50000', limit(500)],
    ['33333 100000', limit(333)],
    ['100000', limit(1000)], // period omitted: the kernel default 100000 µs
    ['1 100000', limit(1)], // never below 1m
    ['400000  100000', limit(4000)],
  ])('%j → %j', (content, expected) => {
    expect(parseCpuMaxV2(content)).toEqual(expected);
  });

  test.each(['', 'max 100000 7', 'two 100000', '-1 100000', '100000 0'])('%j is rejected', (content) => {
    expect(() => parseCpuMaxV2(content)).toThrow(UserError);
  });
});

describe('cgroup v2 memory.max', () => {
  test.each<[string, CgroupLimit]>([
    ['max\n', unlimited],
    ['536870912\n', limit(536_870_912)],
    ['2147483648', limit(2_147_483_648)],
    ['0', limit(0)],
  ])('%j → %j', (content, expected) => {
    expect(parseMemoryMaxV2(content)).toEqual(expected);
  });

  test.each(['', '512M', '-1', 'unlimited'])('%j is rejected', (content) => {
    expect(() => parseMemoryMaxV2(content)).toThrow(UserError);
  });
});

describe('cgroup v1 cpu.cfs_quota_us + cpu.cfs_period_us', () => {
  test.each<[string, string, CgroupLimit]>([
    ['-1\n', '100000\n', unlimited],
    ['200000\n', '100000\n', limit(2000)],
    ['50000', '100000', limit(500)],
    ['150000', '100000', limit(1500)],
    ['100000', '50000', limit(2000)],
  ])('quota %j period %j → %j', (quota, period, expected) => {
    expect(parseCpuQuotaV1(quota, period)).toEqual(expected);
  });

  test.each<[string, string]>([
    ['x', '100000'],
    ['100000', ''],
    ['100000', '0'],
    ['-2', '100000'],
  ])('quota %j period %j is rejected', (quota, period) => {
    expect(() => parseCpuQuotaV1(quota, period)).toThrow(UserError);
  });
});

describe('cgroup v1 memory.limit_in_bytes', () => {
  test.each<[string, CgroupLimit]>([
    ['9223372036854771712\n', unlimited], // 4 KiB pages
    ['9223372036854710272', unlimited], // 64 KiB pages
    ['4611686018427387904', unlimited], // exactly 2^62
    ['-1', unlimited],
    ['1099511627776', limit(1024 ** 4)],
    ['536870912', limit(536_870_912)],
    ['1073741824\n', limit(1_073_741_824)],
  ])('%j → %j', (content, expected) => {
    expect(parseMemoryLimitV1(content)).toEqual(expected);
  });

  test.each(['', 'max', '1G'])('%j is rejected', (content) => {
    expect(() => parseMemoryLimitV1(content)).toThrow(UserError);
  });
});

describe('cpuset lists', () => {
  test.each<[string, number]>([
    ['0-3\n', 4],
    ['0', 1],
    ['0-3,6', 5],
    ['0-1,4-5,8', 5],
    ['2,4,6', 3],
    ['0-63', 64],
  ])('%j → %i CPUs', (content, count) => {
    expect(parseCpuList(content)).toBe(count);
  });

  test.each(['', '3-1', 'a', '0-', '1,,2'])('%j is rejected', (content) => {
    expect(() => parseCpuList(content)).toThrow(UserError);
  });
});

describe('/proc/self/cgroup', () => {
  test('cgroup v2 (unified)', () => {
    expect(parseProcSelfCgroup('0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-ab.scope\n')).toEqual({
      v2Path: '/kubepods.slice/kubepods-pod1.slice/cri-containerd-ab.scope',
      v1: {},
    });
  });

  test('cgroup v1 with combined controllers', () => {
    const content = [
      '12:memory:/kubepods/burstable/pod1/abc',
      '4:cpu,cpuacct:/kubepods/burstable/pod1/abc',
      '3:cpuset:/kubepods/burstable/pod1/abc',
      '1:name=systemd:/kubepods/burstable/pod1/abc',
      '',
    ].join('\n');
    expect(parseProcSelfCgroup(content)).toEqual({
      v1: {
        memory: '/kubepods/burstable/pod1/abc',
        cpu: '/kubepods/burstable/pod1/abc',
        cpuacct: '/kubepods/burstable/pod1/abc',
        cpuset: '/kubepods/burstable/pod1/abc',
        'name=systemd': '/kubepods/burstable/pod1/abc',
      },
    });
  });

  test('hybrid: v1 controllers and the unified hierarchy', () => {
    expect(parseProcSelfCgroup('5:memory:/user.slice\n0::/user.slice/session-1.scope\n')).toEqual({
      v2Path: '/user.slice/session-1.scope',
      v1: { memory: '/user.slice' },
    });
  });

  test('a malformed line is rejected', () => {
    expect(() => parseProcSelfCgroup('garbage\n')).toThrow('/proc/self/cgroup: unexpected line "garbage".');
  });
});

describe('effectiveCpuLimit: quota and cpuset together', () => {
  test.each<[CgroupLimit, number | undefined, CgroupLimit]>([
    [unlimited, undefined, unlimited],
    [unlimited, 4, limit(4000)],
    [limit(2000), undefined, limit(2000)],
    [limit(2000), 4, limit(2000)],
    [limit(8000), 4, limit(4000)],
    [limit(4000), 4, limit(4000)],
    [limit(500), 1, limit(500)],
  ])('quota %j with %j pinned CPUs → %j', (quota, cpus, expected) => {
    expect(effectiveCpuLimit(quota, cpus)).toEqual(expected);
  });
});
