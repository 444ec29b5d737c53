/**
 * Container limits from cgroup file contents, as pure functions over strings. Reading the files
 * (/sys/fs/cgroup/..., /proc/self/cgroup) is the facts collector's job; these only interpret them.
 *
 * Why it matters (docs/design.md "Tuners"): inside a container the host totals (os.cpus(), os.totalmem())
 * describe the node, not the pod, and a pool sized for a 64-core node in a 2-core pod is wrong.
 */
import { UserError } from '../lib/errors.js';

export type CgroupLimit = { kind: 'unlimited' } | { kind: 'limit'; value: number };

const UNLIMITED: CgroupLimit = { kind: 'unlimited' };

/**
 * cgroup v1 writes "no limit" as the largest page-aligned counter (9223372036854771712 on 4 KiB
 * pages, other values on other page sizes); anything at or above 2^62 bytes is no real limit.
 */
const V1_UNLIMITED_FLOOR = 2n ** 62n;

function firstLine(content: string): string {
  return (content.split('\n')[0] ?? '').trim();
}

function parseNonNegativeInt(text: string, file: string): bigint {
  if (!/^\d+$/.test(text)) {
    throw new UserError(`${file}: expected a non-negative integer, found "${text}".`);
  }
  return BigInt(text);
}

function cpuLimit(quotaUs: bigint, periodUs: bigint, file: string): CgroupLimit {
  if (periodUs === 0n) throw new UserError(`${file}: the period is 0.`);
  // Kubernetes writes quota = millicores × period / 1000, so this is exact for pod limits.
  const millicores = Number((quotaUs * 1000n + periodUs / 2n) / periodUs);
  return { kind: 'limit', value: Math.max(1, millicores) };
}

/**
 * cgroup v2 `cpu.max`: "<quota> <period>" in µs, or "max <period>" (unlimited). "200000 100000" → 2000m.
 */
export function parseCpuMaxV2(content: string): CgroupLimit {
  const line = firstLine(content);
  const [quota, period = '100000', extra] = line.split(/\s+/);
  if (!quota || extra !== undefined) {
    throw new UserError(`cpu.max: expected "<quota> <period>" or "max <period>", found "${line}".`);
  }
  if (quota === 'max') return UNLIMITED;
  return cpuLimit(parseNonNegativeInt(quota, 'cpu.max'), parseNonNegativeInt(period, 'cpu.max'), 'cpu.max');
}

/** cgroup v2 `memory.max`: bytes, or "max" (unlimited). */
export function parseMemoryMaxV2(content: string): CgroupLimit {
  const line = firstLine(content);
  if (line === 'max') return UNLIMITED;
  const bytes = parseNonNegativeInt(line, 'memory.max');
  return { kind: 'limit', value: Number(bytes) };
}

/**
 * cgroup v1 `cpu.cfs_quota_us` + `cpu.cfs_period_us`: quota -1 means unlimited.
 */
export function parseCpuQuotaV1(quotaContent: string, periodContent: string): CgroupLimit {
  const quota = firstLine(quotaContent);
  if (quota === '-1') return UNLIMITED;
  return cpuLimit(
    parseNonNegativeInt(quota, 'cpu.cfs_quota_us'),
    parseNonNegativeInt(firstLine(periodContent), 'cpu.cfs_period_us'),
    'cpu.cfs_quota_us',
  );
}

/**
 * cgroup v1 `memory.limit_in_bytes`: bytes; values ≥ 2^62 (the page-aligned "no limit") are unlimited.
 */
export function parseMemoryLimitV1(content: string): CgroupLimit {
  const line = firstLine(content);
  // Some kernels print -1 through the v1 compatibility layer.
  if (line === '-1') return UNLIMITED;
  const bytes = parseNonNegativeInt(line, 'memory.limit_in_bytes');
  if (bytes >= V1_UNLIMITED_FLOOR) return UNLIMITED;
  return { kind: 'limit', value: Number(bytes) };
}

/**
 * A cpuset list ("0-3,6,8-9", from `cpuset.cpus.effective`) as a CPU count: a pinned container
 * may have no quota and still see only these CPUs.
 */
export function parseCpuList(content: string): number {
  const line = firstLine(content);
  if (line === '') throw new UserError('cpuset: the CPU list is empty.');
  let count = 0;
  for (const part of line.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new UserError(`cpuset: "${part}" is not a CPU or a range such as 0-3.`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new UserError(`cpuset: the range "${part}" runs backwards.`);
    count += to - from + 1;
  }
  return count;
}

export interface ProcSelfCgroup {
  /** The unified (v2) hierarchy path, from the "0::/path" line. */
  v2Path?: string;
  /** v1 controller → path, e.g. { cpu: '/kubepods/...', memory: '/kubepods/...' }. */
  v1: Record<string, string>;
}

/**
 * `/proc/self/cgroup`: which hierarchy holds this process, so the collector knows which files to read.
 * Lines are "hierarchy-id:controllers:path"; v2 is "0::/path", v1 lists controllers ("4:cpu,cpuacct:/x").
 */
export function parseProcSelfCgroup(content: string): ProcSelfCgroup {
  const result: ProcSelfCgroup = { v1: {} };
  for (const raw of content.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) throw new UserError(`/proc/self/cgroup: unexpected line "${line}".`);
    const [, id, controllers, path] = m;
    if (id === '0' && controllers === '') {
      result.v2Path = path!;
      continue;
    }
    for (const c of controllers!.split(',')) if (c) result.v1[c] = path!;
  }
  return result;
}

/**
 * The CPU a container can really use: the smaller of its quota (cpu.max / cfs_quota_us) and the
 * CPUs its cpuset lets it run on (× 1000 millicores). A pinned container with no quota is limited
 * by the cpuset alone.
 */
export function effectiveCpuLimit(quota: CgroupLimit, cpusetCpus?: number): CgroupLimit {
  const pinned = cpusetCpus === undefined ? undefined : cpusetCpus * 1000;
  if (quota.kind === 'unlimited') return pinned === undefined ? quota : { kind: 'limit', value: pinned };
  return { kind: 'limit', value: pinned === undefined ? quota.value : Math.min(quota.value, pinned) };
}
