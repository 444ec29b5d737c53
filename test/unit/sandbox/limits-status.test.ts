import { describe, expect, test } from 'vitest';
import { guideLimits, OUTPUT_CAP_BYTES, stepLimits } from '../../../src/worker/sandbox/limits.js';
import {
  allocationFailed,
  compileStatus,
  presentOutput,
  programStatus,
  TRUNCATED_MARK,
} from '../../../src/worker/sandbox/status.js';
import type { StepOutcome } from '../../../src/worker/sandbox/types.js';

describe('guide limits (sentinel-tuning-guide "nsjail Sandbox Limits")', () => {
  test.each([
    ['python', 10_000, 256, 64, 1, 64],
    ['cpp-compile', 10_000, 512, 64, 1, 128],
    ['cpp-run', 10_000, 256, 64, 1, 64],
  ] as const)(
    '%s: wall %i ms, %i MB, %i pids, %i CPU, tmpfs %i MB',
    (phase, wall, mem, pids, cpus, tmpfs) => {
      expect(guideLimits[phase]).toEqual({ wallMs: wall, memoryMb: mem, pids, cpus, tmpfsMb: tmpfs });
    },
  );
});

describe('stepLimits', () => {
  const job = { timeLimitMs: 1500, memoryLimitKb: 131_072 };

  test.each([
    // phase, job, wallMs, memoryKb, cgroupMemoryKb, cpuSeconds, tmpfsMb
    ['python', job, 1500, 131_072, 131_072 + 65_536, 3, 64],
    ['cpp-run', job, 1500, 131_072, 131_072 + 65_536, 3, 64],
    ['cpp-compile', job, 10_000, 524_288, 524_288 + 131_072, 11, 128],
    ['python', { timeLimitMs: 60_000, memoryLimitKb: 262_144 }, 10_000, 262_144, 327_680, 11, 64],
    ['python', { timeLimitMs: 5000, memoryLimitKb: 262_144 }, 5000, 262_144, 327_680, 6, 64],
    ['cpp-run', undefined, 10_000, 262_144, 327_680, 11, 64],
    ['python', { timeLimitMs: 1000, memoryLimitKb: 1024 }, 1000, 16_384, 16_384 + 65_536, 2, 64],
  ] as const)('%s %j', (phase, input, wallMs, memoryKb, cgroupMemoryKb, cpuSeconds, tmpfsMb) => {
    expect(stepLimits(phase, input)).toEqual({
      wallMs,
      memoryKb,
      cgroupMemoryKb,
      pids: 64,
      cpuMsPerSec: 1000,
      cpuSeconds,
      tmpfsMb,
      fsizeMb: tmpfsMb,
      nofile: 64,
    });
  });
});

const base: StepOutcome = {
  exitCode: 0,
  stdout: '',
  stderr: '',
  stdoutTruncated: false,
  stderrTruncated: false,
  wallMs: 10,
  oomKilled: false,
  timedOut: false,
  outputLimitHit: false,
};

describe('programStatus', () => {
  test.each([
    ['clean exit', {}, 'SUCCESS'],
    ['non-zero exit', { exitCode: 3 }, 'RUNTIME_ERROR'],
    ['killed by SIGSEGV', { exitCode: 139 }, 'RUNTIME_ERROR'],
    ['wall clock', { timedOut: true, exitCode: 137 }, 'TIMEOUT'],
    ['CPU limit (SIGXCPU)', { exitCode: 152 }, 'TIMEOUT'],
    ['memory cgroup OOM kill', { oomKilled: true, exitCode: 137 }, 'MEMORY_LIMIT_EXCEEDED'],
    [
      'MemoryError',
      { exitCode: 1, stderr: 'Traceback (most recent call last):\nMemoryError\n' },
      'MEMORY_LIMIT_EXCEEDED',
    ],
    ['output flood', { outputLimitHit: true, exitCode: 137 }, 'RUNTIME_ERROR'],
    ['sandbox failure', { sandboxFailure: 'bwrap: no', exitCode: 1 }, 'INTERNAL_ERROR'],
    ['timeout wins over OOM', { timedOut: true, oomKilled: true }, 'TIMEOUT'],
  ] as const)('python: %s → %s', (_what, patch, status) => {
    expect(programStatus('python', { ...base, ...patch })).toBe(status);
  });

  test('cpp-run: an uncaught std::bad_alloc is a memory limit', () => {
    const stderr =
      "terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc\n";
    expect(programStatus('cpp-run', { ...base, exitCode: 134, stderr })).toBe('MEMORY_LIMIT_EXCEEDED');
  });
});

describe('allocationFailed', () => {
  test.each([
    ['python', 1, 'x\nMemoryError\n', true],
    ['python', 0, 'MemoryError\n', false],
    ['python', 1, 'ValueError: MemoryError mentioned\n', false],
    ['cpp-run', 134, 'what():  std::bad_alloc', true],
    ['cpp-compile', 1, 'std::bad_alloc', false],
    ['python', null, 'MemoryError\n', false],
  ] as const)('%s exit %s %j → %s', (phase, exitCode, stderr, expected) => {
    expect(allocationFailed(phase, { exitCode, stderr })).toBe(expected);
  });
});

describe('compileStatus', () => {
  test.each([
    ['compiled', {}, 'OK'],
    ['g++ error', { exitCode: 1 }, 'COMPILATION_ERROR'],
    ['compiler timed out (#include </dev/random>)', { timedOut: true, exitCode: 137 }, 'COMPILATION_ERROR'],
    ['compiler out of memory', { oomKilled: true, exitCode: 137 }, 'COMPILATION_ERROR'],
    ['sandbox failure', { sandboxFailure: 'x', exitCode: null }, 'INTERNAL_ERROR'],
  ] as const)('%s → %s', (_what, patch, verdict) => {
    expect(compileStatus({ ...base, ...patch })).toBe(verdict);
  });
});

describe('presentOutput', () => {
  const limits = { wallMs: 1000, memoryKb: 262_144 };

  test('marks truncated streams and says why the program stopped', () => {
    const text = presentOutput(
      { ...base, stdout: 'abc', stdoutTruncated: true, outputLimitHit: true, exitCode: 137 },
      'python',
      limits,
    );
    expect(text.stdout).toBe(`abc${TRUNCATED_MARK}`);
    expect(TRUNCATED_MARK).toBe(`\n[sentinel: output truncated at ${OUTPUT_CAP_BYTES} bytes]\n`);
    expect(text.stderr).toBe(
      '[sentinel: program stopped: output limit exceeded (more than 65536 bytes on stdout or stderr)]\n',
    );
  });

  test('timeout and OOM notes follow the program stderr on their own lines', () => {
    expect(presentOutput({ ...base, stderr: 'partial', timedOut: true }, 'python', limits).stderr).toBe(
      'partial\n[sentinel: program stopped: wall-clock limit of 1000 ms reached]\n',
    );
    expect(presentOutput({ ...base, oomKilled: true }, 'cpp-compile', limits).stderr).toBe(
      '[sentinel: compilation killed: memory limit of 262144 KB exceeded]\n',
    );
  });

  test('leaves a normal run untouched', () => {
    expect(presentOutput({ ...base, stdout: 'hi\n', stderr: 'warn\n' }, 'python', limits)).toEqual({
      stdout: 'hi\n',
      stderr: 'warn\n',
    });
  });
});
