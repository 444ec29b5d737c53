import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createSlotCgroups, detectHierarchy } from '../../../src/worker/sandbox/cgroups.js';
import { stepLimits } from '../../../src/worker/sandbox/limits.js';

// Lines in /proc/self/mountinfo format, as on these Debian machines (v1 + an empty unified mount).
const hybrid = [
  '25 24 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
  '26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
  '28 25 0:25 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '29 25 0:26 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '31 25 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '34 25 0:31 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
].join('\n');
const unified = '30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec - cgroup2 cgroup2 rw,nsdelegate';
const combinedCpu = [
  '28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
  '31 25 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
  '34 25 0:31 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids',
].join('\n');

describe('detectHierarchy', () => {
  test('v1 controllers win on a hybrid host whose unified mount has none', () => {
    expect(detectHierarchy(hybrid, () => '')).toEqual({
      version: 1,
      mounts: { memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids', cpu: '/sys/fs/cgroup/cpu' },
    });
  });

  test('a cpu,cpuacct co-mount serves as the cpu controller', () => {
    expect(detectHierarchy(combinedCpu, () => undefined)).toMatchObject({
      version: 1,
      mounts: { cpu: '/sys/fs/cgroup/cpu,cpuacct' },
    });
  });

  test('v2 when the unified root offers memory, pids and cpu', () => {
    expect(detectHierarchy(unified, () => 'cpuset cpu io memory hugetlb pids rdma misc\n')).toEqual({
      version: 2,
      mount: '/sys/fs/cgroup',
    });
  });

  test('v2 without the pids controller is reported, not used', () => {
    expect(detectHierarchy(unified, () => 'cpu memory')).toEqual({
      version: 0,
      reason: 'the cgroup v2 hierarchy at /sys/fs/cgroup lacks the pids controller(s)',
    });
  });

  test('nothing mounted', () => {
    expect(detectHierarchy('', () => undefined)).toEqual({
      version: 0,
      reason: 'no cgroup hierarchy with the memory, pids and cpu controllers is mounted',
    });
  });
});

// The slot code only reads and writes files, so a plain directory stands in for the cgroup fs.
describe('slot cgroups on a stand-in filesystem', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'sentinel-cg-test-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const read = (...p: string[]) => readFileSync(path.join(root, ...p), 'utf8');

  test('v1: per-controller slot directories with the step limits, peak and OOM since prepare', () => {
    const mounts = {
      memory: path.join(root, 'memory'),
      pids: path.join(root, 'pids'),
      cpu: path.join(root, 'cpu'),
    };
    const set = createSlotCgroups({ version: 1, mounts }, 2, 'inst');
    expect(set.slots).toHaveLength(2);
    const slot = set.slots[1];
    if (!slot) throw new Error('no slot');
    expect(slot.procsFiles).toEqual([
      path.join(root, 'memory/sentinel-sandbox/inst/slot-1/cgroup.procs'),
      path.join(root, 'pids/sentinel-sandbox/inst/slot-1/cgroup.procs'),
      path.join(root, 'cpu/sentinel-sandbox/inst/slot-1/cgroup.procs'),
    ]);
    const mem = path.join(root, 'memory/sentinel-sandbox/inst/slot-1');
    writeFileSync(path.join(mem, 'memory.memsw.limit_in_bytes'), '');
    writeFileSync(path.join(mem, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    writeFileSync(path.join(mem, 'memory.usage_in_bytes'), String(10 * 1024 * 1024));
    slot.prepare(stepLimits('python', { timeLimitMs: 1000, memoryLimitKb: 262_144 }));
    const slotDir = 'sentinel-sandbox/inst/slot-1';
    expect(read('memory', slotDir, 'memory.limit_in_bytes')).toBe(String((262_144 + 65_536) * 1024));
    expect(read('memory', slotDir, 'memory.memsw.limit_in_bytes')).toBe(String((262_144 + 65_536) * 1024));
    expect(read('pids', slotDir, 'pids.max')).toBe('64');
    expect(read('cpu', slotDir, 'cpu.cfs_period_us')).toBe('100000');
    expect(read('cpu', slotDir, 'cpu.cfs_quota_us')).toBe('100000');
    // The kernel would now count: 30 MiB peak over a 10 MiB baseline, one more OOM kill.
    writeFileSync(path.join(mem, 'memory.max_usage_in_bytes'), String(30 * 1024 * 1024));
    writeFileSync(path.join(mem, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n');
    expect(slot.stats()).toEqual({ memoryPeakKb: 20 * 1024, oomKills: 1 });
    expect(slot.pids()).toEqual([]);
  });

  test('v1: instances of workers that are gone are removed, live ones kept', () => {
    const mounts = {
      memory: path.join(root, 'memory'),
      pids: path.join(root, 'pids'),
      cpu: path.join(root, 'cpu'),
    };
    mkdirSync(path.join(mounts.memory, 'sentinel-sandbox/999999999/slot-0'), { recursive: true });
    mkdirSync(path.join(mounts.memory, `sentinel-sandbox/${process.pid}/slot-0`), { recursive: true });
    createSlotCgroups({ version: 1, mounts }, 1, 'inst');
    expect(() => read('memory', 'sentinel-sandbox/999999999')).toThrow();
    expect(() => read('memory', `sentinel-sandbox/${process.pid}`)).toThrow('EISDIR');
  });

  test('worker stop: the instance goes with cgroups nested below its slots (an older nsjail’s NSJAIL.<pid>)', async () => {
    const mounts = {
      memory: path.join(root, 'memory'),
      pids: path.join(root, 'pids'),
      cpu: path.join(root, 'cpu'),
    };
    const set = createSlotCgroups({ version: 1, mounts }, 2, 'inst');
    mkdirSync(path.join(mounts.memory, 'sentinel-sandbox/inst/slot-0/NSJAIL.4242'));
    mkdirSync(path.join(mounts.pids, 'sentinel-sandbox/inst/slot-1/NSJAIL.4243/deeper'), { recursive: true });
    await set.remove();
    for (const m of Object.values(mounts)) expect(readdirSync(path.join(m, 'sentinel-sandbox'))).toEqual([]);
  });

  test('v2: controllers handed down, limits on the slot, a fresh leaf per step', () => {
    writeFileSync(path.join(root, 'cgroup.subtree_control'), '');
    const set = createSlotCgroups({ version: 2, mount: root }, 1, 'inst');
    expect(read('cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect(read('sentinel-sandbox', 'cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect(read('sentinel-sandbox/inst', 'cgroup.subtree_control')).toBe('+memory +pids +cpu');
    const slot = set.slots[0];
    if (!slot) throw new Error('no slot');
    const first = slot.procsFiles[0];
    slot.prepare(stepLimits('cpp-compile'));
    const second = slot.procsFiles[0];
    expect(first).toBe(path.join(root, 'sentinel-sandbox/inst/slot-0/run-0/cgroup.procs'));
    expect(second).toBe(path.join(root, 'sentinel-sandbox/inst/slot-0/run-1/cgroup.procs'));
    expect(read('sentinel-sandbox/inst/slot-0', 'memory.max')).toBe(String((524_288 + 131_072) * 1024));
    expect(read('sentinel-sandbox/inst/slot-0', 'pids.max')).toBe('64');
    expect(read('sentinel-sandbox/inst/slot-0', 'cpu.max')).toBe('100000 100000');
    writeFileSync(path.join(root, 'sentinel-sandbox/inst/slot-0/run-1/memory.peak'), String(8 * 1024 * 1024));
    writeFileSync(
      path.join(root, 'sentinel-sandbox/inst/slot-0/run-1/memory.events'),
      'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n',
    );
    expect(slot.stats()).toEqual({ memoryPeakKb: 8192, oomKills: 1 });
  });
});
