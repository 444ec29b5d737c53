import { stepLimits } from './limits.js';
import { compileStatus, presentOutput, programStatus } from './status.js';
import { type JobInput, type JobResult, languages, type SandboxDriver, type SandboxStep } from './types.js';

/** Interpreter and compiler by absolute path: on some machines a pyenv shim comes first on PATH. */
export const PYTHON_ARGV = ['/usr/bin/python3', '/src/main.py'];
export const CPP_COMPILE_ARGV = ['/usr/bin/g++', '-O2', '-std=c++17', '-o', '/out/main', '/src/main.cpp'];
export const CPP_RUN_ARGV = ['/out/main'];

export interface RunJobContext {
  driver: SandboxDriver;
  /** The slot this job owns until it returns (0..driver.slots-1). */
  slot: number;
  /** Aborting kills the sandbox; the job comes back as INTERNAL_ERROR. */
  signal?: AbortSignal;
  /** Called as the job enters a phase, so the worker can record COMPILING / RUNNING. */
  onPhase?: (status: 'COMPILING' | 'RUNNING') => void | Promise<void>;
}

/**
 * Runs one submission in the sandbox and returns its result in the stack contract's terms:
 * Python runs directly; C++ is compiled under the guide's compile limits, then run under the job's.
 * Never throws for anything the program or the sandbox does.
 */
export async function runJob(job: JobInput, ctx: RunJobContext): Promise<JobResult> {
  if (!languages.includes(job.language)) {
    return internalError(`unknown language ${JSON.stringify(job.language)} (expected python or cpp)`);
  }
  if (!(job.timeLimitMs > 0) || !(job.memoryLimitKb > 0)) {
    return internalError(`invalid limits: time ${job.timeLimitMs} ms, memory ${job.memoryLimitKb} KB`);
  }

  if (job.language === 'cpp') {
    await ctx.onPhase?.('COMPILING');
    const compile: SandboxStep = {
      phase: 'cpp-compile',
      argv: CPP_COMPILE_ARGV,
      stdin: '',
      limits: stepLimits('cpp-compile'),
      sources: { 'main.cpp': job.source },
      out: 'rw',
      freshOut: true,
    };
    const built = await ctx.driver.run(compile, ctx.slot, ctx.signal);
    const verdict = compileStatus(built);
    if (verdict !== 'OK') {
      if (verdict === 'INTERNAL_ERROR')
        return internalError(built.sandboxFailure ?? 'sandbox failure', built.exitCode);
      const text = presentOutput(built, 'cpp-compile', compile.limits);
      return {
        status: 'COMPILATION_ERROR',
        stdout: text.stdout,
        stderr: text.stderr,
        exitCode: built.exitCode,
        timeUsedMs: 0,
        memoryUsedKb: 0,
      };
    }
  }

  await ctx.onPhase?.('RUNNING');
  const phase = job.language === 'python' ? 'python' : 'cpp-run';
  const step: SandboxStep =
    phase === 'python'
      ? {
          phase,
          argv: PYTHON_ARGV,
          stdin: job.stdin,
          limits: stepLimits(phase, job),
          sources: { 'main.py': job.source },
          out: 'ro',
          freshOut: true,
        }
      : { phase, argv: CPP_RUN_ARGV, stdin: job.stdin, limits: stepLimits(phase, job), out: 'ro' };
  const outcome = await ctx.driver.run(step, ctx.slot, ctx.signal);
  const status = programStatus(phase, outcome);
  if (status === 'INTERNAL_ERROR')
    return internalError(outcome.sandboxFailure ?? 'sandbox failure', outcome.exitCode);
  const text = presentOutput(outcome, phase, step.limits);
  return {
    status,
    stdout: text.stdout,
    stderr: text.stderr,
    exitCode: outcome.exitCode,
    timeUsedMs: outcome.wallMs,
    memoryUsedKb: outcome.memoryPeakKb ?? 0,
  };
}

function internalError(reason: string, exitCode: number | null = null): JobResult {
  return {
    status: 'INTERNAL_ERROR',
    stdout: '',
    stderr: '',
    exitCode,
    timeUsedMs: 0,
    memoryUsedKb: 0,
    sandboxFailure: reason,
  };
}
