import { OUTPUT_CAP_BYTES } from './limits.js';
import type { JobStatus, Phase, StepOutcome } from './types.js';

const SIGXCPU = 24;

/**
 * Signs that a program died because an allocation failed under its address-space limit rather
 * than of a bug: Python's MemoryError traceback, the C++ runtime's uncaught std::bad_alloc.
 */
export function allocationFailed(phase: Phase, outcome: Pick<StepOutcome, 'exitCode' | 'stderr'>): boolean {
  if (outcome.exitCode === 0 || outcome.exitCode === null) return false;
  const tail = outcome.stderr.slice(-4096);
  if (phase === 'python') return /^MemoryError\b/m.test(tail);
  if (phase === 'cpp-run') return /std::bad_alloc/.test(tail);
  return false;
}

/**
 * The status of a program step (python, cpp-run), in this order: the sandbox broke; the wall clock
 * or the CPU limit (SIGXCPU) was hit; the memory cgroup killed it or an allocation failed; it was
 * stopped for flooding its output, or exited non-zero; otherwise it succeeded.
 */
export function programStatus(phase: Phase, outcome: StepOutcome): JobStatus {
  if (outcome.sandboxFailure !== undefined) return 'INTERNAL_ERROR';
  if (outcome.timedOut || outcome.exitCode === 128 + SIGXCPU) return 'TIMEOUT';
  if (outcome.oomKilled || allocationFailed(phase, outcome)) return 'MEMORY_LIMIT_EXCEEDED';
  if (outcome.outputLimitHit || outcome.exitCode !== 0) return 'RUNTIME_ERROR';
  return 'SUCCESS';
}

/** A compilation either produced a binary, failed (any cause the compiler can be blamed for), or never ran. */
export function compileStatus(outcome: StepOutcome): 'OK' | 'COMPILATION_ERROR' | 'INTERNAL_ERROR' {
  if (outcome.sandboxFailure !== undefined) return 'INTERNAL_ERROR';
  if (outcome.timedOut || outcome.oomKilled || outcome.outputLimitHit || outcome.exitCode !== 0) {
    return 'COMPILATION_ERROR';
  }
  return 'OK';
}

export const TRUNCATED_MARK = `\n[sentinel: output truncated at ${OUTPUT_CAP_BYTES} bytes]\n`;

/** The text a user sees: the kept output with a marker where it was cut, and why the run stopped. */
export function presentOutput(
  outcome: StepOutcome,
  phase: Phase,
  limits: { wallMs: number; memoryKb: number },
): { stdout: string; stderr: string } {
  const stdout = outcome.stdout + (outcome.stdoutTruncated ? TRUNCATED_MARK : '');
  let stderr = outcome.stderr + (outcome.stderrTruncated ? TRUNCATED_MARK : '');
  const what = phase === 'cpp-compile' ? 'compilation' : 'program';
  const notes: string[] = [];
  if (outcome.timedOut) notes.push(`${what} stopped: wall-clock limit of ${limits.wallMs} ms reached`);
  else if (outcome.outputLimitHit) {
    notes.push(
      `${what} stopped: output limit exceeded (more than ${OUTPUT_CAP_BYTES} bytes on stdout or stderr)`,
    );
  }
  if (outcome.oomKilled) notes.push(`${what} killed: memory limit of ${limits.memoryKb} KB exceeded`);
  if (notes.length > 0) {
    stderr += `${stderr === '' || stderr.endsWith('\n') ? '' : '\n'}${notes.map((n) => `[sentinel: ${n}]`).join('\n')}\n`;
  }
  return { stdout, stderr };
}
