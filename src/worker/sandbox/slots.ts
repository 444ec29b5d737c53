import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EnvironmentError } from '../../lib/errors.js';
import type { BoundedRunResult } from '../../lib/proc.js';
import {
  type CgroupHierarchy,
  type CgroupSet,
  createSlotCgroups,
  detectHostHierarchy,
  type SlotCgroup,
} from './cgroups.js';
import type { DriverInfo, DriverName, SandboxStep, StepOutcome } from './types.js';

/**
 * Host uids of the slots when the worker runs as root: far above any account or subuid range, one
 * per slot so that per-uid accounting (RLIMIT_NPROC, signals) never crosses slots.
 */
export const DEFAULT_UID_BASE = 1_900_000_000;

/**
 * A driver's outcome of one step from its bounded run: `exitCode` and `timedOut` as the driver
 * read them from its launcher, `sandboxFailure` when the launcher itself failed; a cancelled run
 * says so. oomKilled stays false here: the slot's memory cgroup holds the jail, so its OOM counter
 * decides (SlotRuntime); an exit of 137 alone is a SIGKILL, which the program may have sent itself.
 */
export function stepOutcome(
  result: BoundedRunResult,
  exitCode: number | null,
  timedOut: boolean,
  sandboxFailure: string | undefined,
): StepOutcome {
  return {
    exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    stdoutTruncated: result.stdoutTruncated,
    stderrTruncated: result.stderrTruncated,
    wallMs: Math.round(result.wallMs),
    oomKilled: false,
    timedOut,
    outputLimitHit: result.overflowed,
    sandboxFailure: sandboxFailure ?? (result.aborted ? 'the run was cancelled' : undefined),
  };
}

export interface SlotRuntimeOptions {
  /** How many jobs run at once (WORKER_POOL_SIZE). */
  slots: number;
  /** Host directory for the slots' files; default: a fresh directory under the system tmpdir. */
  workRoot?: string;
  uidBase?: number;
  /** 'off' runs on rlimits alone (tests of the degraded mode). */
  cgroups?: 'auto' | 'off';
  /** Overrides detection (tests). */
  hierarchy?: CgroupHierarchy;
}

export interface SlotContext {
  slot: number;
  /** Host directory mounted read-only at /src. */
  srcDir: string;
  /** Host directory mounted at /out (writable for compilation). */
  outDir: string;
  passwdFile: string;
  groupFile: string;
  /** Unprivileged host uid (and gid) of the slot; undefined when the worker is not root. */
  hostUid?: number;
  cgroup?: SlotCgroup;
  /** Kills every process of the slot (its cgroup) but the launcher, for timeouts and output floods. */
  killAll: (launcherPid?: number) => Promise<void>;
}

const SOURCE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * What both drivers share: per-slot work directories, host uids and cgroups, one step at a time
 * per slot, and the bookkeeping around each step (fresh sources, empty cgroup, statistics).
 */
export class SlotRuntime {
  private readonly slots: number;
  private readonly uidBase: number;
  private readonly requestedRoot: string | undefined;
  private root = '';
  private createdRoot = false;
  private hostUids: Array<number | undefined> = [];
  private cgroupSet: CgroupSet | undefined;
  private readonly busy = new Set<number>();
  private initialized = false;

  constructor(private readonly options: SlotRuntimeOptions) {
    if (!Number.isInteger(options.slots) || options.slots < 1) {
      throw new RangeError(`slots must be a positive integer, got ${options.slots}`);
    }
    this.slots = options.slots;
    this.uidBase = options.uidBase ?? DEFAULT_UID_BASE;
    this.requestedRoot = options.workRoot;
  }

  get workRoot(): string {
    return this.root;
  }

  async init(name: DriverName): Promise<DriverInfo> {
    const warnings: string[] = [];
    if (this.initialized) return { name, cgroups: this.cgroupVersion(), warnings };
    const isRoot = process.getuid?.() === 0;
    this.prepareRoot();
    this.hostUids = Array.from({ length: this.slots }, (_, n) => (isRoot ? this.uidBase + n : undefined));
    if (!isRoot) {
      warnings.push(
        `the worker is not root (uid ${process.getuid?.()}): every slot runs as that uid and shares its process count (RLIMIT_NPROC), and slot cgroups are unlikely to be writable`,
      );
    }
    for (let n = 0; n < this.slots; n++) this.prepareSlotDirs(n);

    if (this.options.cgroups !== 'off') {
      const hierarchy = this.options.hierarchy ?? detectHostHierarchy();
      if (hierarchy.version === 0) {
        warnings.push(
          `no cgroups (${hierarchy.reason}): memory, process count and CPU are held by rlimits only`,
        );
      } else {
        try {
          this.cgroupSet = createSlotCgroups(hierarchy, this.slots);
        } catch (error) {
          warnings.push(
            `cannot create slot cgroups (${(error as Error).message}): memory, process count and CPU are held by rlimits only`,
          );
        }
      }
    } else {
      warnings.push('cgroups are switched off: memory, process count and CPU are held by rlimits only');
    }
    this.initialized = true;
    return { name, cgroups: this.cgroupVersion(), warnings };
  }

  private cgroupVersion(): DriverInfo['cgroups'] {
    return this.cgroupSet ? (`v${this.cgroupSet.version}` as const) : 'none';
  }

  /** The root holds only root-owned directories, traversable (0711) but not listable by the slots. */
  private prepareRoot(): void {
    if (this.requestedRoot) {
      this.root = path.resolve(this.requestedRoot);
      mkdirSync(this.root, { recursive: true, mode: 0o711 });
      const st = lstatSync(this.root);
      if (!st.isDirectory() || st.uid !== process.getuid?.()) {
        throw new EnvironmentError(
          `The sandbox work directory ${this.root} is not a directory owned by this user.`,
          {
            code: 'SANDBOX_WORKDIR',
            suggestion: 'Point the worker at a directory it owns, or remove the file in the way.',
          },
        );
      }
    } else {
      this.root = mkdtempSync(path.join(os.tmpdir(), 'sentinel-sandbox-'));
      this.createdRoot = true;
    }
    chmodSync(this.root, 0o711);
  }

  slotDir(n: number): string {
    return path.join(this.root, `slot-${n}`);
  }

  private prepareSlotDirs(n: number): void {
    const dir = this.slotDir(n);
    mkdirSync(path.join(dir, 'src'), { recursive: true });
    mkdirSync(path.join(dir, 'out'), { recursive: true });
    chmodSync(dir, 0o711);
    chmodSync(path.join(dir, 'src'), 0o755);
    const uid = this.hostUids[n];
    // Only the compiler writes /out, as the slot's uid; the worker (root) empties it between jobs.
    if (uid !== undefined) chownSync(path.join(dir, 'out'), uid, uid);
    chmodSync(path.join(dir, 'out'), 0o755);
    writeFileSync(path.join(dir, 'passwd'), 'sandbox:x:1000:1000:sandbox:/tmp:/usr/sbin/nologin\n', {
      mode: 0o644,
    });
    writeFileSync(path.join(dir, 'group'), 'sandbox:x:1000:\n', { mode: 0o644 });
  }

  /**
   * Runs `fn` for one step in a slot: fresh sources and output directory as the step asks, the
   * slot's cgroup emptied and set to the step's limits, and afterwards the cgroup's peak memory
   * and OOM kills folded into the outcome. Failures of this bookkeeping become `sandboxFailure`.
   */
  async withSlot(
    slot: number,
    step: SandboxStep,
    fn: (ctx: SlotContext) => Promise<StepOutcome>,
  ): Promise<StepOutcome> {
    if (!this.initialized) throw new Error('sandbox driver used before init()');
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      throw new RangeError(`slot ${slot} is outside 0..${this.slots - 1}`);
    }
    if (this.busy.has(slot)) throw new Error(`slot ${slot} is already running a step`);
    this.busy.add(slot);
    const cgroup = this.cgroupSet?.slots[slot];
    try {
      try {
        this.stageFiles(slot, step);
        if (cgroup) {
          if (cgroup.pids().length > 0 && !(await cgroup.killAll())) {
            return failed(`slot ${slot} still holds processes from an earlier run`);
          }
          cgroup.prepare(step.limits);
        }
      } catch (error) {
        return failed(`cannot prepare slot ${slot}: ${(error as Error).message}`);
      }
      const ctx: SlotContext = {
        slot,
        srcDir: path.join(this.slotDir(slot), 'src'),
        outDir: path.join(this.slotDir(slot), 'out'),
        passwdFile: path.join(this.slotDir(slot), 'passwd'),
        groupFile: path.join(this.slotDir(slot), 'group'),
        hostUid: this.hostUids[slot],
        cgroup,
        killAll: async (launcherPid) => {
          await cgroup?.killAll(2000, launcherPid);
        },
      };
      const outcome = await fn(ctx);
      if (!cgroup) return outcome;
      // The pid namespace dies with the program; this catches anything that outlived it.
      await cgroup.killAll();
      const stats = cgroup.stats();
      return {
        ...outcome,
        memoryPeakKb: stats.memoryPeakKb,
        oomKilled: outcome.oomKilled || stats.oomKills > 0,
      };
    } finally {
      this.busy.delete(slot);
    }
  }

  private stageFiles(slot: number, step: SandboxStep): void {
    const dir = this.slotDir(slot);
    if (step.sources !== undefined) {
      const src = path.join(dir, 'src');
      for (const old of readdirSync(src)) rmSync(path.join(src, old), { recursive: true, force: true });
      for (const [name, content] of Object.entries(step.sources)) {
        if (!SOURCE_NAME.test(name)) throw new Error(`bad source file name ${JSON.stringify(name)}`);
        writeFileSync(path.join(src, name), content, { mode: 0o644 });
      }
    }
    if (step.freshOut) {
      const out = path.join(dir, 'out');
      for (const old of readdirSync(out)) rmSync(path.join(out, old), { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    if (!this.initialized) return;
    await this.cgroupSet?.remove();
    this.cgroupSet = undefined;
    if (this.createdRoot) rmSync(this.root, { recursive: true, force: true });
    else for (let n = 0; n < this.slots; n++) rmSync(this.slotDir(n), { recursive: true, force: true });
    this.initialized = false;
  }
}

function failed(reason: string): StepOutcome {
  return {
    exitCode: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    wallMs: 0,
    oomKilled: false,
    timedOut: false,
    outputLimitHit: false,
    sandboxFailure: reason,
  };
}
