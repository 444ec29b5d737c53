/**
 * The sandbox library's vocabulary: what the worker hands in (a job), what it gets back (a result
 * in the stack contract's terms, docs/design.md "The stack contract"), and the small interface every
 * sandbox driver (nsjail, bwrap) implements.
 */
import { terminalStatuses } from '../../jobs/repository.js';

export const languages = ['python', 'cpp'] as const;
export type Language = (typeof languages)[number];

/** Terminal statuses of the stack contract (one list, src/jobs/repository.ts). */
export const jobStatuses = terminalStatuses;
export type JobStatus = (typeof jobStatuses)[number];

export interface JobInput {
  language: Language;
  source: string;
  stdin: string;
  /** Wall-clock limit of the program run (the contract's time_limit_ms). */
  timeLimitMs: number;
  /** Memory limit of the program run (the contract's memory_limit_kb). */
  memoryLimitKb: number;
}

export interface JobResult {
  status: JobStatus;
  stdout: string;
  stderr: string;
  /**
   * Exit status of the last process that ran (g++ for a compilation error); a signal n is 128+n.
   * null only when nothing ran (INTERNAL_ERROR before the sandbox started).
   */
  exitCode: number | null;
  /** Wall time of the program run (not of the compilation). */
  timeUsedMs: number;
  /** Peak memory of the program run, from the slot's memory cgroup; 0 when not measurable. */
  memoryUsedKb: number;
  /** Set with INTERNAL_ERROR: why the sandbox could not run the program. */
  sandboxFailure?: string;
}

/** The three phases of the tuning guide's "nsjail Sandbox Limits" table. */
export const phases = ['python', 'cpp-compile', 'cpp-run'] as const;
export type Phase = (typeof phases)[number];

/** Every limit one sandboxed process tree runs under. */
export interface StepLimits {
  wallMs: number;
  /** Address-space limit (RLIMIT_AS / nsjail rlimit_as) of each process. */
  memoryKb: number;
  /** Memory cgroup limit for the whole tree: memory + tmpfs (tmpfs pages are charged to the memcg). */
  cgroupMemoryKb: number;
  pids: number;
  /** CPU bandwidth: 1000 = one core (nsjail cgroup_cpu_ms_per_sec). */
  cpuMsPerSec: number;
  /** RLIMIT_CPU, seconds: a backstop behind the wall clock. */
  cpuSeconds: number;
  tmpfsMb: number;
  /** RLIMIT_FSIZE, MiB. */
  fsizeMb: number;
  /** RLIMIT_NOFILE. */
  nofile: number;
}

/** One command run inside the sandbox. */
export interface SandboxStep {
  phase: Phase;
  /** argv inside the sandbox; argv[0] is an absolute path. */
  argv: string[];
  stdin: string;
  limits: StepLimits;
  /**
   * Files written fresh into the slot's source directory (read-only at /src inside) before the
   * step; undefined keeps what the previous step of the same job left.
   */
  sources?: Record<string, string>;
  /** The slot's output directory at /out: writable (compile) or read-only (run). */
  out: 'rw' | 'ro';
  /** Empty /out before the step (a new job). */
  freshOut?: boolean;
}

/** What happened to one step, before it is mapped to a status. */
export interface StepOutcome {
  /** Exit status of the sandboxed command; a signal n is 128+n; null when it never started. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  wallMs: number;
  /** Peak memory of the slot cgroup during the step, KiB; undefined when not measurable. */
  memoryPeakKb?: number;
  /** The memory cgroup killed a process during the step. */
  oomKilled: boolean;
  /** The wall-clock limit was reached and the tree was killed. */
  timedOut: boolean;
  /** stdout or stderr went past the cap and the tree was killed. */
  outputLimitHit: boolean;
  /** The sandbox itself failed to start or broke (not the program). */
  sandboxFailure?: string;
}

export type DriverName = 'nsjail' | 'bwrap';

export interface DriverInfo {
  name: DriverName;
  /** How the driver will contain programs on this host, for logs and `status`. */
  cgroups: 'v1' | 'v2' | 'none';
  /** Degradations the operator should know about (no cgroups, no uid switch, ...). */
  warnings: string[];
}

/**
 * A sandbox driver runs one step at a time per slot. Slots are numbered 0..slots-1 and own their
 * cgroups, work directories and host uid, reused from job to job.
 */
export interface SandboxDriver {
  readonly name: DriverName;
  readonly slots: number;
  /** Creates per-slot resources; idempotent. Throws EnvironmentError when the sandbox cannot work. */
  init(): Promise<DriverInfo>;
  /** Runs one step in a slot. Sandbox failures come back as `sandboxFailure`, never as throws. */
  run(step: SandboxStep, slot: number, signal?: AbortSignal): Promise<StepOutcome>;
  /** Kills what is left in every slot and removes the driver's cgroups and work directories. */
  close(): Promise<void>;
}
