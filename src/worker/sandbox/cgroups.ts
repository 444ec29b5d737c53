import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StepLimits } from './types.js';

/**
 * Per-slot cgroups for the sandbox: memory, pids and cpu controllers, created once per slot and
 * reused from job to job (creating and removing them per job costs ≈14 ms and rmdir can fail
 * briefly after a kill — docs/design.md "Sandboxing with bubblewrap"). Both hierarchies work:
 * v1 (a mount per controller, as on these Debian machines) and v2 (the unified hierarchy most
 * production clusters run). Every path is under a root that tests may point at a plain directory.
 *
 * Layout: `<mount>/sentinel-sandbox/<instance>/slot-<n>` where the instance is the worker's pid,
 * so two workers on one host (a stack and a test run) never share, or kill, each other's slots.
 */

export const CGROUP_PARENT = 'sentinel-sandbox';
const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
type Controller = (typeof CONTROLLERS)[number];
/** CFS period: 100 ms, the kernel default; the quota is cpuMsPerSec × 100 µs per period. */
const CPU_PERIOD_US = 100_000;

export type CgroupHierarchy =
  | { version: 1; mounts: Record<Controller, string> }
  | { version: 2; mount: string }
  | { version: 0; reason: string };

/**
 * Finds the hierarchy to use from /proc/self/mountinfo. v1 wins when its memory, pids and cpu
 * controllers are all mounted (a hybrid host's unified mount then carries no controllers); v2 needs
 * those three in the unified root's cgroup.controllers.
 */
export function detectHierarchy(
  mountinfo: string,
  readControllers: (mountPoint: string) => string | undefined,
): CgroupHierarchy {
  const v1: Partial<Record<Controller, string>> = {};
  let v2: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fstype, , superOptions = ''] = right.split(' ');
    if (!mountPoint) continue;
    if (fstype === 'cgroup') {
      const opts = superOptions.split(',');
      for (const c of CONTROLLERS) if (opts.includes(c) && !v1[c]) v1[c] = unescapeMount(mountPoint);
    } else if (fstype === 'cgroup2' && !v2) {
      v2 = unescapeMount(mountPoint);
    }
  }
  if (v1.memory && v1.pids && v1.cpu) {
    return { version: 1, mounts: { memory: v1.memory, pids: v1.pids, cpu: v1.cpu } };
  }
  if (v2) {
    const available = (readControllers(v2) ?? '').trim().split(/\s+/);
    const missing = CONTROLLERS.filter((c) => !available.includes(c));
    if (missing.length === 0) return { version: 2, mount: v2 };
    return {
      version: 0,
      reason: `the cgroup v2 hierarchy at ${v2} lacks the ${missing.join(', ')} controller(s)`,
    };
  }
  return { version: 0, reason: 'no cgroup hierarchy with the memory, pids and cpu controllers is mounted' };
}

/** mountinfo escapes spaces and friends as octal (`\040`). */
function unescapeMount(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** The host's hierarchy, read from /proc. */
export function detectHostHierarchy(): CgroupHierarchy {
  let mountinfo: string;
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return { version: 0, reason: '/proc/self/mountinfo is not readable' };
  }
  return detectHierarchy(mountinfo, (m) => readOptional(path.join(m, 'cgroup.controllers')));
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function write(file: string, value: string): void {
  writeFileSync(file, value);
}

export interface SlotStats {
  /** Peak memory of the step, KiB (undefined when the kernel does not report it). */
  memoryPeakKb?: number;
  /** OOM kills in the step's cgroup. */
  oomKills: number;
}

/** One slot's cgroup(s): limits, joining, statistics, and killing what is inside. */
export interface SlotCgroup {
  /** The `cgroup.procs` files a launcher writes "0" into to join the slot before exec. */
  readonly procsFiles: string[];
  /** Sets the step's limits and zeroes the statistics. */
  prepare(limits: StepLimits): void;
  /** Statistics since `prepare`. */
  stats(): SlotStats;
  /** Pids in the slot and in any cgroup nested below it (the pids controller's view). */
  pids(): number[];
  /**
   * SIGKILLs everything in the slot until it is empty, or `timeoutMs` passes. True when empty.
   * A `spare` pid (the launcher) is left alone so that it can reap what it started.
   */
  killAll(timeoutMs?: number, spare?: number): Promise<boolean>;
  /** Removes the slot's directories, with any cgroup nested below them (after `killAll`). */
  remove(): void;
}

export interface CgroupSet {
  readonly version: 1 | 2;
  slots: SlotCgroup[];
  /** Removes the instance directory with every slot in it. */
  remove(): Promise<void>;
}

/**
 * Creates (or reuses) the slot cgroups of this worker instance and removes the directories left
 * by instances that no longer run. Throws with the path and errno when the kernel refuses.
 */
export function createSlotCgroups(
  hierarchy: Exclude<CgroupHierarchy, { version: 0 }>,
  slots: number,
  instance: string = String(process.pid),
): CgroupSet {
  if (hierarchy.version === 1) {
    const roots = CONTROLLERS.map((c) => hierarchy.mounts[c]);
    for (const root of new Set(roots)) removeStaleInstances(path.join(root, CGROUP_PARENT), instance);
    const made = Array.from({ length: slots }, (_, n) => new V1Slot(hierarchy.mounts, instance, n));
    return {
      version: 1,
      slots: made,
      remove: async () => {
        for (const s of made) {
          await s.killAll();
          s.remove();
        }
        for (const root of new Set(roots)) rmdirQuiet(path.join(root, CGROUP_PARENT, instance));
      },
    };
  }
  const parent = path.join(hierarchy.mount, CGROUP_PARENT);
  // v2 hands controllers down one level at a time: root → sentinel-sandbox → instance → slot.
  enableControllers(hierarchy.mount);
  mkdirSync(parent, { recursive: true });
  enableControllers(parent);
  removeStaleInstances(parent, instance);
  const instanceDir = path.join(parent, instance);
  mkdirSync(instanceDir, { recursive: true });
  enableControllers(instanceDir);
  const made = Array.from({ length: slots }, (_, n) => new V2Slot(path.join(instanceDir, `slot-${n}`)));
  return {
    version: 2,
    slots: made,
    remove: async () => {
      for (const s of made) {
        await s.killAll();
        s.remove();
      }
      rmdirQuiet(instanceDir);
    },
  };
}

function enableControllers(dir: string): void {
  const current = (readOptional(path.join(dir, 'cgroup.subtree_control')) ?? '').split(/\s+/);
  const wanted = CONTROLLERS.filter((c) => !current.includes(c));
  if (wanted.length > 0)
    write(path.join(dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
}

/** Instances are named by pid: a directory whose pid is gone is a crashed worker's leftover. */
function removeStaleInstances(parent: string, self: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of entries) {
    if (name === self || !/^\d+$/.test(name) || pidAlive(Number(name))) continue;
    rmdirTree(path.join(parent, name));
  }
}

/**
 * Removes a cgroup directory and every cgroup below it, deepest first (a cgroup directory goes
 * only once it has no children and no processes). A few levels: instance → slot → run leaf → a
 * nested manager's own (an older nsjail's NSJAIL.<pid>).
 */
export function rmdirTree(dir: string, depth = 4): void {
  if (depth > 0) for (const child of safeReaddir(dir)) rmdirTree(path.join(dir, child), depth - 1);
  rmdirQuiet(dir);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function rmdirQuiet(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {}
}

function readPids(file: string): number[] {
  return (readOptional(file) ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

/** Pids of a cgroup and its descendants (a nested manager's cgroups below a slot), a few levels deep. */
function readPidsDeep(dir: string, depth = 3): number[] {
  const own = readPids(path.join(dir, 'cgroup.procs'));
  if (depth === 0) return own;
  return [...own, ...safeReaddir(dir).flatMap((child) => readPidsDeep(path.join(dir, child), depth - 1))];
}

async function killLoop(
  readProcs: () => number[],
  timeoutMs: number,
  kill?: () => void,
  spare?: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const others = () => readProcs().filter((pid) => pid !== spare);
  // Bounded: a fork bomb refills the slot only up to pids.max, and each round kills all it sees.
  for (let round = 0; round < 1000 && Date.now() < deadline; round++) {
    const pids = others();
    if (pids.length === 0) return true;
    if (spare === undefined) kill?.();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await new Promise((r) => setTimeout(r, round < 10 ? 2 : 20));
  }
  return others().length === 0;
}

class V1Slot implements SlotCgroup {
  readonly dirs: Record<Controller, string>;
  readonly procsFiles: string[];
  private oomBefore = 0;
  private baseline = 0;

  constructor(mounts: Record<Controller, string>, instance: string, n: number) {
    const rel = path.join(CGROUP_PARENT, instance, `slot-${n}`);
    this.dirs = {
      memory: path.join(mounts.memory, rel),
      pids: path.join(mounts.pids, rel),
      cpu: path.join(mounts.cpu, rel),
    };
    for (const dir of new Set(Object.values(this.dirs))) mkdirSync(dir, { recursive: true });
    this.procsFiles = [...new Set(Object.values(this.dirs))].map((d) => path.join(d, 'cgroup.procs'));
  }

  prepare(limits: StepLimits): void {
    const mem = this.dirs.memory;
    const bytes = String(limits.cgroupMemoryKb * 1024);
    // memsw (memory + swap) must never fall below the memory limit: open it, set memory, close it
    // to the same value so that nothing is swapped out instead of being killed.
    const memsw = path.join(mem, 'memory.memsw.limit_in_bytes');
    const hasMemsw = existsSync(memsw);
    if (hasMemsw) write(memsw, '-1');
    write(path.join(mem, 'memory.limit_in_bytes'), bytes);
    if (hasMemsw) write(memsw, bytes);
    // Writing 0 restarts the peak at the current usage: page cache charged by earlier steps (a
    // compiler's headers). That baseline is subtracted, rather than reclaimed with force_empty,
    // which would evict the interpreter's own pages and double the next start-up time.
    write(path.join(mem, 'memory.max_usage_in_bytes'), '0');
    this.baseline = Number(readOptional(path.join(mem, 'memory.usage_in_bytes')) ?? 0);
    this.oomBefore = this.oomKills();
    write(path.join(this.dirs.pids, 'pids.max'), String(limits.pids));
    write(path.join(this.dirs.cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    write(path.join(this.dirs.cpu, 'cpu.cfs_quota_us'), String((limits.cpuMsPerSec * CPU_PERIOD_US) / 1000));
  }

  private oomKills(): number {
    const control = readOptional(path.join(this.dirs.memory, 'memory.oom_control')) ?? '';
    return Number(/^oom_kill (\d+)$/m.exec(control)?.[1] ?? 0);
  }

  stats(): SlotStats {
    const peak = readOptional(path.join(this.dirs.memory, 'memory.max_usage_in_bytes'));
    return {
      memoryPeakKb:
        peak === undefined ? undefined : Math.round(Math.max(0, Number(peak) - this.baseline) / 1024),
      oomKills: this.oomKills() - this.oomBefore,
    };
  }

  pids(): number[] {
    return readPidsDeep(this.dirs.pids);
  }

  killAll(timeoutMs = 5000, spare?: number): Promise<boolean> {
    return killLoop(() => this.pids(), timeoutMs, undefined, spare);
  }

  remove(): void {
    for (const dir of new Set(Object.values(this.dirs))) rmdirTree(dir);
  }
}

/**
 * v2: limits sit on the slot directory; each step runs in a fresh leaf below it (`run-<k>`), so
 * memory.peak and memory.events start from zero without needing the 6.12 per-fd peak reset. The
 * slot itself holds no process, as the no-internal-process rule requires.
 */
class V2Slot implements SlotCgroup {
  private leaf: string;
  private runs = 0;

  constructor(private readonly slotDir: string) {
    mkdirSync(slotDir, { recursive: true });
    enableControllers(slotDir);
    this.leaf = this.newLeaf();
  }

  get procsFiles(): string[] {
    return [path.join(this.leaf, 'cgroup.procs')];
  }

  private newLeaf(): string {
    const leaf = path.join(this.slotDir, `run-${this.runs++}`);
    mkdirSync(leaf, { recursive: true });
    return leaf;
  }

  prepare(limits: StepLimits): void {
    for (const old of safeReaddir(this.slotDir)) rmdirTree(path.join(this.slotDir, old));
    this.leaf = this.newLeaf();
    write(path.join(this.slotDir, 'memory.max'), String(limits.cgroupMemoryKb * 1024));
    if (existsSync(path.join(this.slotDir, 'memory.swap.max')))
      write(path.join(this.slotDir, 'memory.swap.max'), '0');
    write(path.join(this.slotDir, 'pids.max'), String(limits.pids));
    write(
      path.join(this.slotDir, 'cpu.max'),
      `${(limits.cpuMsPerSec * CPU_PERIOD_US) / 1000} ${CPU_PERIOD_US}`,
    );
  }

  stats(): SlotStats {
    const peak = readOptional(path.join(this.leaf, 'memory.peak'));
    const events = readOptional(path.join(this.leaf, 'memory.events')) ?? '';
    return {
      memoryPeakKb: peak === undefined ? undefined : Math.round(Number(peak) / 1024),
      oomKills: Number(/^oom_kill (\d+)$/m.exec(events)?.[1] ?? 0),
    };
  }

  pids(): number[] {
    return readPidsDeep(this.slotDir);
  }

  killAll(timeoutMs = 5000, spare?: number): Promise<boolean> {
    // cgroup.kill takes everyone, the launcher too: only without a pid to spare.
    const killFile = path.join(this.slotDir, 'cgroup.kill');
    const viaKernel = existsSync(killFile) ? () => write(killFile, '1') : undefined;
    return killLoop(() => this.pids(), timeoutMs, viaKernel, spare);
  }

  remove(): void {
    rmdirTree(this.slotDir);
  }
}
