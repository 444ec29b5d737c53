/**
 * The machine (or container) sentinel-ctl runs on: CPU use and load against the CPUs it may use,
 * memory against its limit, and kernel OOM kills. Container limits come first (cgroup v2 or v1,
 * parsed by src/tuners/cgroup.ts): inside a pod the host totals describe the node, not the pod
 * (docs/design.md "Tuners"). Against a remote stack these are this machine's numbers, and say so.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readContainerLimits } from '../../clients/cgroup.js';
import { type CgroupLimit, parseProcSelfCgroup } from '../../tuners/cgroup.js';
import type { HostFacts } from '../types.js';
import { withTimeout } from './timeout.js';
import { type Collector, increase, windowOf } from './types.js';

export interface HostSample {
  at: number;
  scope: 'container' | 'host';
  cpus: number;
  load1: number;
  load5: number;
  /** Cumulative CPU seconds used and, for the host, elapsed CPU seconds of all CPUs. */
  cpuUsedSeconds: number;
  cpuTotalSeconds: number | null;
  memoryUsed: number;
  memoryLimit: number;
  oomKills: number | null;
  oomSource: 'cgroup' | 'vmstat' | null;
}

/** `/proc/stat` first line → busy and total jiffies (iowait counts as idle). */
export function parseProcStat(text: string): { busy: number; total: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no cpu line');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** `/proc/meminfo` → bytes of the named fields. */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * (line.includes('kB') ? 1024 : 1);
  }
  return out;
}

/** "key value" lines (memory.stat, memory.events, cpu.stat, /proc/vmstat, memory.oom_control). */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

const read = (file: string) => readFile(file, 'utf8');
const tryRead = (file: string) => read(file).catch(() => undefined);

/** The first existing file among the cgroup's own directory and the hierarchy root (inside containers). */
async function cgroupFile(
  root: string,
  cgPath: string | undefined,
  file: string,
): Promise<string | undefined> {
  for (const dir of [cgPath ? path.join(root, cgPath) : undefined, root]) {
    if (!dir) continue;
    const text = await tryRead(path.join(dir, file));
    if (text !== undefined) return text;
  }
  return undefined;
}

interface CgroupReading {
  cpuLimit: CgroupLimit;
  memLimit: CgroupLimit;
  memUsage?: number;
  cpuUsageSeconds?: number;
  oomKills?: number;
}

/**
 * Limits come from the same reader `tune` uses (src/clients/cgroup.ts: the tightest limit of the
 * cgroup and its ancestors, cpuset included), so diagnose and tune never disagree about what this
 * container may use; only the usage counters are read here.
 */
async function readCgroup(): Promise<CgroupReading | undefined> {
  const limits = readContainerLimits('/', { hostCpus: os.cpus().length });
  if (limits.version === 'none') return undefined;
  const self = await tryRead('/proc/self/cgroup');
  if (!self) return undefined;
  const cg = parseProcSelfCgroup(self);
  const unlimited: CgroupLimit = { kind: 'unlimited' };
  const cpuLimit = limits.cpu ?? unlimited;
  const memLimit = limits.memory ?? unlimited;
  if (limits.version === 'v2') {
    const v2Root = '/sys/fs/cgroup';
    const stat = parseKeyValues((await cgroupFile(v2Root, cg.v2Path, 'memory.stat')) ?? '');
    const current = Number((await cgroupFile(v2Root, cg.v2Path, 'memory.current')) ?? Number.NaN);
    const cpuStat = parseKeyValues((await cgroupFile(v2Root, cg.v2Path, 'cpu.stat')) ?? '');
    const events = parseKeyValues((await cgroupFile(v2Root, cg.v2Path, 'memory.events')) ?? '');
    return {
      cpuLimit,
      memLimit,
      memUsage: Number.isFinite(current) ? current - (stat.inactive_file ?? 0) : undefined,
      cpuUsageSeconds: cpuStat.usage_usec === undefined ? undefined : cpuStat.usage_usec / 1e6,
      oomKills: events.oom_kill,
    };
  }
  const memRoot = '/sys/fs/cgroup/memory';
  const usage = Number((await cgroupFile(memRoot, cg.v1.memory, 'memory.usage_in_bytes')) ?? Number.NaN);
  const stat = parseKeyValues((await cgroupFile(memRoot, cg.v1.memory, 'memory.stat')) ?? '');
  const oom = parseKeyValues((await cgroupFile(memRoot, cg.v1.memory, 'memory.oom_control')) ?? '');
  const acct = await cgroupFile('/sys/fs/cgroup/cpuacct', cg.v1.cpuacct, 'cpuacct.usage');
  return {
    cpuLimit,
    memLimit,
    memUsage: Number.isFinite(usage) ? usage - (stat.total_inactive_file ?? 0) : undefined,
    cpuUsageSeconds: acct ? Number(acct) / 1e9 : undefined,
    oomKills: oom.oom_kill,
  };
}

export class HostCollector implements Collector<HostSample, HostFacts> {
  readonly component = 'host' as const;
  readonly target = `${os.hostname()} (this machine)`;

  async sample(timeoutMs: number): Promise<HostSample> {
    const work = (async (): Promise<HostSample> => {
      const [loadavg, stat, meminfo, vmstat, cg] = await Promise.all([
        read('/proc/loadavg'),
        read('/proc/stat'),
        read('/proc/meminfo'),
        tryRead('/proc/vmstat'),
        readCgroup().catch(() => undefined),
      ]);
      const [load1, load5] = loadavg.split(/\s+/).map(Number);
      const mem = parseMeminfo(meminfo);
      const hostTotal = mem.MemTotal ?? os.totalmem();
      const hostUsed = hostTotal - (mem.MemAvailable ?? os.freemem());
      const hostCpus = os.availableParallelism();
      const cpu = parseProcStat(stat);
      const hz = 100; // USER_HZ: /proc/stat counts in 1/100 s on Linux.
      const memLimited =
        cg?.memLimit.kind === 'limit' && cg.memLimit.value < hostTotal && cg.memUsage !== undefined;
      const cpuLimited =
        cg?.cpuLimit.kind === 'limit' &&
        cg.cpuLimit.value < hostCpus * 1000 &&
        cg.cpuUsageSeconds !== undefined;
      const vm = vmstat ? parseKeyValues(vmstat) : {};
      const sample: HostSample = {
        at: Date.now(),
        scope: memLimited || cpuLimited ? 'container' : 'host',
        cpus: hostCpus,
        load1: load1 ?? 0,
        load5: load5 ?? 0,
        cpuUsedSeconds: cpu.busy / hz,
        cpuTotalSeconds: cpu.total / hz,
        memoryUsed: hostUsed,
        memoryLimit: hostTotal,
        oomKills: vm.oom_kill ?? null,
        oomSource: vm.oom_kill === undefined ? null : 'vmstat',
      };
      if (cpuLimited && cg.cpuLimit.kind === 'limit') {
        sample.cpus = Math.min(hostCpus, cg.cpuLimit.value / 1000);
        sample.cpuUsedSeconds = cg.cpuUsageSeconds!;
        sample.cpuTotalSeconds = null;
      }
      if (memLimited && cg.memLimit.kind === 'limit') {
        sample.memoryUsed = cg.memUsage!;
        sample.memoryLimit = cg.memLimit.value;
        if (cg.oomKills !== undefined) {
          sample.oomKills = cg.oomKills;
          sample.oomSource = 'cgroup';
        }
      }
      return sample;
    })();
    return withTimeout(work, timeoutMs);
  }

  derive(prev: HostSample | undefined, cur: HostSample): { facts: HostFacts; notes: string[] } {
    const window = windowOf(prev, cur);
    let cpuUsage: number | null = null;
    if (prev && window > 0) {
      const used = increase(prev.cpuUsedSeconds, cur.cpuUsedSeconds);
      const total =
        cur.cpuTotalSeconds !== null && prev.cpuTotalSeconds !== null
          ? increase(prev.cpuTotalSeconds, cur.cpuTotalSeconds)
          : window * cur.cpus;
      cpuUsage = total > 0 ? Math.min(1, Math.round((used / total) * 1000) / 1000) : null;
    }
    return {
      notes: [
        cur.scope === 'container' ? 'cgroup limits of this container' : 'the machine sentinel-ctl runs on',
      ],
      facts: {
        scope: cur.scope,
        cpus: cur.cpus,
        load1: cur.load1,
        load5: cur.load5,
        cpuUsage,
        memoryUsed: cur.memoryUsed,
        memoryLimit: cur.memoryLimit,
        oomKills: cur.oomKills,
        oomKillsInWindow:
          prev && cur.oomKills !== null && prev.oomKills !== null
            ? increase(prev.oomKills, cur.oomKills)
            : null,
        oomSource: cur.oomSource,
      },
    };
  }

  async close(): Promise<void> {}
}
