import type { JobInput, Phase, StepLimits } from './types.js';

export interface GuideLimits {
  wallMs: number;
  memoryMb: number;
  pids: number;
  cpus: number;
  tmpfsMb: number;
}

/** sentinel-tuning-guide.md "nsjail Sandbox Limits" (python / cpp compile / cpp run). */
export const guideLimits: Record<Phase, GuideLimits> = {
  python: { wallMs: 10_000, memoryMb: 256, pids: 64, cpus: 1, tmpfsMb: 64 },
  'cpp-compile': { wallMs: 10_000, memoryMb: 512, pids: 64, cpus: 1, tmpfsMb: 128 },
  'cpp-run': { wallMs: 10_000, memoryMb: 256, pids: 64, cpus: 1, tmpfsMb: 64 },
};

/** stdout and stderr are each kept up to this many bytes; past it the program is stopped. */
export const OUTPUT_CAP_BYTES = 64 * 1024;

/** Open files per process: room for an interpreter and a compiler, not for descriptor bombs. */
export const NOFILE_LIMIT = 64;

/**
 * The address-space limit never goes below this: under ≈8 MiB the launcher (setpriv, bwrap) cannot
 * map libc and the run would look like a sandbox failure; under ≈16 MiB python3 cannot load. A job
 * asking for less gets this much (the API should refuse such limits up front).
 */
export const MIN_MEMORY_KB = 16 * 1024;

/**
 * The limits of one phase. The compile phase always takes the guide's values; the program phases
 * take the job's time and memory limits (the contract's time_limit_ms / memory_limit_kb), the
 * wall clock never beyond the guide's 10 s.
 */
export function stepLimits(phase: Phase, job?: Pick<JobInput, 'timeLimitMs' | 'memoryLimitKb'>): StepLimits {
  const guide = guideLimits[phase];
  const program = phase !== 'cpp-compile' && job !== undefined;
  const wallMs = program ? Math.min(job.timeLimitMs, guide.wallMs) : guide.wallMs;
  const memoryKb = Math.max(MIN_MEMORY_KB, program ? job.memoryLimitKb : guide.memoryMb * 1024);
  return {
    wallMs,
    memoryKb,
    // tmpfs pages are charged to the memory cgroup (docs/design.md "Sandboxing with bubblewrap"), so
    // the cgroup holds both budgets: a full /tmp must not eat the program's memory.
    cgroupMemoryKb: memoryKb + guide.tmpfsMb * 1024,
    pids: guide.pids,
    cpuMsPerSec: guide.cpus * 1000,
    // A per-process backstop only: one CPU's quota keeps CPU time under wall time, so the wall
    // clock always fires first.
    cpuSeconds: Math.ceil(wallMs / 1000) + 1,
    tmpfsMb: guide.tmpfsMb,
    fsizeMb: guide.tmpfsMb,
    nofile: NOFILE_LIMIT,
  };
}
