/**
 * Container limits of the process collecting facts: which cgroup it is in (/proc/self/cgroup) and
 * the CPU and memory limits of that cgroup and its ancestors, from cgroup v2 (cpu.max, memory.max,
 * cpuset.cpus.effective) or v1 (cpu.cfs_quota_us / cpu.cfs_period_us, memory.limit_in_bytes,
 * cpuset.effective_cpus). The files are only read here; src/tuners/cgroup.ts interprets them.
 *
 * Why (docs/design.md "Tuners"): inside a pod, os.cpus() and os.totalmem() describe the node; a pool
 * sized for a 64-core node in a 2-core pod is wrong. The root is configurable so tests read fixture
 * directories laid out like `/proc` and `/sys/fs/cgroup`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type CgroupLimit,
  effectiveCpuLimit,
  parseCpuList,
  parseCpuMaxV2,
  parseCpuQuotaV1,
  parseMemoryLimitV1,
  parseMemoryMaxV2,
  parseProcSelfCgroup,
} from '../tuners/cgroup.js';

export interface ContainerLimits {
  version: 'v2' | 'v1' | 'none';
  cpu?: CgroupLimit;
  /** The file (and cgroup) the CPU limit came from, e.g. `cgroup v2 cpu.max (/kubepods/pod1/c1)`. */
  cpuDetail?: string;
  memory?: CgroupLimit;
  memoryDetail?: string;
  /** Files that could not be parsed, and similar remarks for the output. */
  notes: string[];
}

/** Ancestors never go deeper than this (a cgroup path has a handful of levels). */
const MAX_LEVELS = 32;

function tryRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The directories to look in, innermost first: the process's own cgroup and each ancestor up to the
 * hierarchy root. Inside a container with its own cgroup namespace the path is "/" and the files
 * sit at the mount root; without one, the path may not exist in the container's view of the mount,
 * and then only the mount root is read.
 */
function cgroupDirs(mount: string, cgPath: string | undefined): string[] {
  const rel = (cgPath ?? '/').replace(/^\/+/, '');
  const own = path.join(mount, rel);
  if (rel === '' || !existsSync(own)) return [mount];
  const dirs: string[] = [];
  let dir = own;
  for (let i = 0; i < MAX_LEVELS; i++) {
    dirs.push(dir);
    if (path.relative(mount, dir) === '') break;
    dir = path.dirname(dir);
  }
  return dirs;
}

/** The tightest limit over the cgroup and its ancestors (a parent's limit binds its children too). */
function tightest(
  dirs: string[],
  file: string,
  parse: (text: string, dir: string) => CgroupLimit,
  label: string,
  notes: string[],
): { limit?: CgroupLimit; dir?: string } {
  let best: { limit?: CgroupLimit; dir?: string } = {};
  for (const dir of dirs) {
    const text = tryRead(path.join(dir, file));
    if (text === undefined) continue;
    let limit: CgroupLimit;
    try {
      limit = parse(text, dir);
    } catch (error) {
      notes.push(`${label} ${path.join(dir, file)}: ${(error as Error).message}`);
      continue;
    }
    if (!best.limit) best = { limit, dir };
    else if (limit.kind === 'limit' && (best.limit.kind === 'unlimited' || limit.value < best.limit.value)) {
      best = { limit, dir };
    }
  }
  return best;
}

function describe(version: string, file: string, mount: string, dir: string | undefined): string {
  const rel = dir === undefined ? '' : path.relative(mount, dir);
  return `cgroup ${version} ${file}${rel ? ` (/${rel.split(path.sep).join('/')})` : ''}`;
}

/** The first of several v1 mount names that exists (`cpu`, `cpu,cpuacct`, `cpuacct,cpu`). */
function v1Mount(root: string, names: string[]): string | undefined {
  for (const n of names) {
    const dir = path.join(root, 'sys/fs/cgroup', n);
    if (existsSync(dir)) return dir;
  }
  return undefined;
}

/**
 * Reads the container limits under `root` (default `/`). Returns `version: 'none'` when the process
 * is in no cgroup hierarchy the files describe (not Linux, or /proc not mounted). A cpuset holding
 * `hostCpus` or more CPUs is not reported as a limit.
 */
export function readContainerLimits(root = '/', options: { hostCpus?: number } = {}): ContainerLimits {
  const notes: string[] = [];
  const self = tryRead(path.join(root, 'proc/self/cgroup'));
  if (self === undefined) return { version: 'none', notes };
  let cg: ReturnType<typeof parseProcSelfCgroup>;
  try {
    cg = parseProcSelfCgroup(self);
  } catch (error) {
    return { version: 'none', notes: [(error as Error).message] };
  }

  // cgroup v2 when the unified hierarchy carries the memory controller (pure v2 mounts it at
  // /sys/fs/cgroup; a hybrid v1 system has controller directories there instead).
  const unified = path.join(root, 'sys/fs/cgroup');
  if (cg.v2Path !== undefined) {
    const dirs = cgroupDirs(unified, cg.v2Path);
    if (dirs.some((d) => existsSync(path.join(d, 'memory.max')) || existsSync(path.join(d, 'cpu.max')))) {
      const mem = tightest(dirs, 'memory.max', parseMemoryMaxV2, 'memory.max', notes);
      const quota = tightest(dirs, 'cpu.max', parseCpuMaxV2, 'cpu.max', notes);
      const cpusetText = dirs.map((d) => tryRead(path.join(d, 'cpuset.cpus.effective'))).find(Boolean);
      const cpus = cpusetCount(cpusetText, notes, options.hostCpus);
      const cpu = effectiveCpuLimit(quota.limit ?? { kind: 'unlimited' }, cpus);
      const byCpuset =
        cpus !== undefined && (quota.limit?.kind !== 'limit' || cpus * 1000 < quota.limit.value);
      return {
        version: 'v2',
        cpu,
        cpuDetail: byCpuset
          ? `cgroup v2 cpuset.cpus.effective (${cpus} CPUs)`
          : describe('v2', 'cpu.max', unified, quota.dir),
        ...(mem.limit
          ? { memory: mem.limit, memoryDetail: describe('v2', 'memory.max', unified, mem.dir) }
          : {}),
        notes,
      };
    }
  }

  const memMount = v1Mount(root, ['memory']);
  const cpuMount = v1Mount(root, ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']);
  if (!memMount && !cpuMount) return { version: 'none', notes };
  const out: ContainerLimits = { version: 'v1', notes };
  if (memMount) {
    const dirs = cgroupDirs(memMount, cg.v1.memory);
    const mem = tightest(dirs, 'memory.limit_in_bytes', parseMemoryLimitV1, 'memory.limit_in_bytes', notes);
    if (mem.limit) {
      out.memory = mem.limit;
      out.memoryDetail = describe('v1', 'memory.limit_in_bytes', memMount, mem.dir);
    }
  }
  let quota: { limit?: CgroupLimit; dir?: string } = {};
  if (cpuMount) {
    const dirs = cgroupDirs(cpuMount, cg.v1.cpu);
    quota = tightest(
      dirs,
      'cpu.cfs_quota_us',
      // The period sits next to the quota, in the same directory.
      (text, dir) => parseCpuQuotaV1(text, tryRead(path.join(dir, 'cpu.cfs_period_us')) ?? '100000'),
      'cpu.cfs_quota_us',
      notes,
    );
  }
  const cpusetMount = v1Mount(root, ['cpuset']);
  let cpus: number | undefined;
  if (cpusetMount) {
    const dirs = cgroupDirs(cpusetMount, cg.v1.cpuset);
    const text = dirs
      .map((d) => tryRead(path.join(d, 'cpuset.effective_cpus')) ?? tryRead(path.join(d, 'cpuset.cpus')))
      .find(Boolean);
    cpus = cpusetCount(text, notes, options.hostCpus);
  }
  if (quota.limit || cpus !== undefined) {
    out.cpu = effectiveCpuLimit(quota.limit ?? { kind: 'unlimited' }, cpus);
    const byCpuset = cpus !== undefined && (quota.limit?.kind !== 'limit' || cpus * 1000 < quota.limit.value);
    out.cpuDetail = byCpuset
      ? `cgroup v1 cpuset.effective_cpus (${cpus} CPUs)`
      : describe('v1', 'cpu.cfs_quota_us', cpuMount ?? unified, quota.dir);
  }
  return out;
}

/**
 * CPUs of a cpuset list; undefined when the set holds every CPU of the host (a plain, unpinned
 * process: not a limit worth reporting as one).
 */
function cpusetCount(text: string | undefined, notes: string[], hostCpus?: number): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const n = parseCpuList(text);
    return hostCpus !== undefined && n >= hostCpus ? undefined : n;
  } catch (error) {
    notes.push((error as Error).message);
    return undefined;
  }
}
