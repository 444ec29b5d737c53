import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import type { Options as ExecaOptions } from 'execa';
import { EnvironmentError } from './errors.js';
import { debug } from './log.js';

/**
 * The one process wrapper (docs/design.md "Logic and I/O"): every child process of sentinel-ctl starts
 * here, so abort signals, tree kills, debug logging and typed failures behave the same everywhere.
 */

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Replace the environment instead of extending it. */
  cleanEnv?: boolean;
  input?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  uid?: number;
  gid?: number;
  /** Do not throw on a non-zero exit; the caller inspects `exitCode`. */
  reject?: boolean;
  /** Show the child's output live on our stderr (long installs), instead of capturing it. */
  echo?: boolean;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function baseOptions(opts: RunOptions): ExecaOptions {
  return {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: !opts.cleanEnv,
    timeout: opts.timeoutMs,
    cancelSignal: opts.signal,
    uid: opts.uid,
    gid: opts.gid,
    reject: false,
    stripFinalNewline: true,
    // execa's own cleanup (signal-exit) re-raises SIGINT and kills us before our handlers can
    // stop what was started; callers pass an abort signal instead.
    cleanup: false,
  };
}

/** Runs a command to completion. Throws EnvironmentError (exit 3) when it cannot start or fails. */
/**
 * execa is imported on first use: it costs ≈180 ms to load, and `status` or a warm `up` never
 * spawn anything.
 */
const loadExeca = async () => (await import('execa')).execa;

export async function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const execa = await loadExeca();
  debug('proc', `run ${file} ${args.join(' ')}`);
  const result = await execa(file, args, {
    ...baseOptions(opts),
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    ...(opts.echo ? { stdout: process.stderr, stderr: process.stderr } : {}),
    encoding: 'utf8',
  });
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  const failedToStart = (result as { code?: string }).code === 'ENOENT' || result.exitCode === undefined;
  if (failedToStart && !result.timedOut && !result.isCanceled) {
    throw new EnvironmentError(`Cannot run ${file}: ${result.shortMessage ?? 'not found'}`, {
      code: 'BINARY_MISSING',
      suggestion: 'Run `sentinel-ctl setup` to install what the local stack needs.',
    });
  }
  const exitCode = result.exitCode ?? (result.timedOut ? 124 : 1);
  if (exitCode !== 0 && opts.reject !== false) {
    const detail = (stderr || stdout).trim().split('\n').slice(-3).join(' | ');
    throw new EnvironmentError(
      `${file} ${args.slice(0, 3).join(' ')} failed with exit code ${exitCode}${result.timedOut ? ' (timed out)' : ''}: ${detail}`,
      { code: 'COMMAND_FAILED' },
    );
  }
  return { exitCode, stdout, stderr, timedOut: Boolean(result.timedOut) };
}

export interface DaemonOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  cleanEnv?: boolean;
  /** stdout and stderr are appended here. */
  logFile: string;
  uid?: number;
  gid?: number;
}

export interface DaemonHandle {
  pid: number;
  /** Resolves with the exit code when the process ends while this CLI is still running. */
  exited: Promise<number | null>;
}

/**
 * Starts a long-running server in its own process group, detached from this CLI so it outlives
 * it. The group id equals the pid, so `killTree` reaches every child it forks.
 */
export async function spawnDaemon(file: string, args: string[], opts: DaemonOptions): Promise<DaemonHandle> {
  const execa = await loadExeca();
  debug('proc', `daemon ${file} ${args.join(' ')} > ${opts.logFile}`);
  const fd = openSync(opts.logFile, 'a', 0o644);
  try {
    const child = execa(file, args, {
      cwd: opts.cwd,
      env: opts.env,
      extendEnv: !opts.cleanEnv,
      uid: opts.uid,
      gid: opts.gid,
      reject: false,
      detached: true,
      cleanup: false,
      stdin: 'ignore',
      // A literal fd type keeps execa's overloads happy; any open descriptor number works at run time.
      stdout: fd as 3,
      stderr: fd as 3,
      buffer: false,
    });
    if (child.pid === undefined) {
      throw new EnvironmentError(`Cannot start ${file}: it was not found or is not executable.`, {
        code: 'BINARY_MISSING',
        suggestion: 'Run `sentinel-ctl setup` to install what the local stack needs.',
      });
    }
    child.unref();
    const exited = child.then(
      (r) => r.exitCode ?? null,
      (e: { exitCode?: number }) => e.exitCode ?? null,
    );
    return { pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}

/** True when a process with this pid exists (zombies included). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends a signal to a whole process group (and to the leader, should it have left the group). */
export function killTree(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {}
  }
}

/** Waits until `pid` and its process group are gone, up to `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid) && !groupAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid) && !groupAlive(pid);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Graceful stop: `signal` to the leader only (servers shut their own children down in order),
 * then SIGKILL to the whole group if anything of it is left after `graceMs`.
 */
export async function stopTree(
  pid: number,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<'graceful' | 'killed'> {
  try {
    process.kill(pid, signal);
  } catch {}
  if (await waitForExit(pid, graceMs)) return 'graceful';
  killTree(pid, 'SIGKILL');
  await waitForExit(pid, 5000);
  return 'killed';
}

// ---------------------------------------------------------------------------------------------
// Bounded runs: untrusted children (the sandbox) whose output must not grow without bound.

export interface BoundedRunOptions {
  /** The complete environment of the child (nothing is inherited). */
  env: NodeJS.ProcessEnv;
  /** Working directory; default '/', so a shell's PWD does not reveal ours. */
  cwd?: string;
  /** Written to the child's stdin, which is then closed. */
  input: string;
  /**
   * Descriptors 3, 4, ... of the child: bytes to read from it (an input pipe the child reads to EOF,
   * e.g. a seccomp program for `bwrap --seccomp 3`), or 'pipe' to collect what the child writes.
   */
  extraFds?: Array<Uint8Array | 'pipe'>;
  /** stdout and stderr are each kept up to this many bytes; one byte more counts as overflow. */
  maxOutputBytes: number;
  /** Wall-clock limit from the spawn. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Kills everything the child started (e.g. a cgroup) on timeout, overflow or abort, given the
   * child's pid so it can be spared until its descendants are gone (it then reaps them, and none is
   * left a zombie for the host's init). The child gets SIGKILL afterwards.
   */
  killAll?: (childPid: number | undefined) => Promise<void> | void;
}

export interface BoundedRunResult {
  /** Exit code; a child killed by signal n reports 128+n. null when it did not start. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Text the child wrote to each 'pipe' in `extraFds` (index 0 = fd 3), capped at 64 KiB each. */
  extraOutput: string[];
  timedOut: boolean;
  overflowed: boolean;
  aborted: boolean;
  wallMs: number;
  /** Why the child could not be started (missing binary, EAGAIN, ...). */
  spawnError?: string;
}

const EXTRA_OUTPUT_CAP = 64 * 1024;

/**
 * Runs an untrusted child to completion with a wall clock and an output cap: output beyond
 * `maxOutputBytes` is not kept, and the child (with `killAll`) is killed at once, so a program
 * printing 200 MB costs the caller 64 KiB and a few milliseconds. Never throws for the child's
 * behaviour; a child that cannot start comes back with `spawnError`.
 */
export async function runBounded(
  file: string,
  args: string[],
  opts: BoundedRunOptions,
): Promise<BoundedRunResult> {
  debug('proc', `bounded ${file} ${args.join(' ')}`);
  const execa = await loadExeca();
  const extra = opts.extraFds ?? [];
  const started = performance.now();
  const child = execa(file, args, {
    cwd: opts.cwd ?? '/',
    env: opts.env,
    extendEnv: false,
    stdio: ['pipe', 'pipe', 'pipe', ...extra],
    buffer: false,
    reject: false,
    stripFinalNewline: false,
    // Not execa's signal-exit cleanup: it would kill sandboxes on SIGTERM before a worker can finish
    // them. A dying worker takes its sandboxes along anyway (bwrap --die-with-parent).
    cleanup: false,
  });

  let timedOut = false;
  let overflowed = false;
  let aborted = false;
  let killing: Promise<void> | undefined;
  const killEverything = (): Promise<void> => {
    killing ??= (async () => {
      try {
        await opts.killAll?.(child.pid);
      } catch (error) {
        debug('proc', `bounded killAll failed: ${String(error)}`);
      }
      try {
        child.kill('SIGKILL');
      } catch {}
    })();
    return killing;
  };

  const collect = (
    stream: NodeJS.ReadableStream | null | undefined,
    cap: number,
    onOverflow?: () => void,
  ) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    stream?.on('data', (chunk: Buffer) => {
      if (truncated) return;
      const room = cap - size;
      if (chunk.length > room) {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        size = cap;
        truncated = true;
        onOverflow?.();
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    stream?.on('error', () => {});
    return () => ({ text: Buffer.concat(chunks).toString('utf8'), truncated });
  };
  const overflow = () => {
    overflowed = true;
    void killEverything();
  };
  const out = collect(child.stdout, opts.maxOutputBytes, overflow);
  const err = collect(child.stderr, opts.maxOutputBytes, overflow);
  const extraOut = extra.map((fd, i) =>
    fd === 'pipe'
      ? collect(child.stdio[i + 3] as NodeJS.ReadableStream | undefined, EXTRA_OUTPUT_CAP)
      : undefined,
  );

  child.stdin?.on('error', () => {}); // EPIPE when the program exits without reading its input
  child.stdin?.end(opts.input);

  const timer = setTimeout(() => {
    timedOut = true;
    void killEverything();
  }, opts.timeoutMs);
  const onAbort = () => {
    aborted = true;
    void killEverything();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();

  try {
    const result = await child;
    const wallMs = performance.now() - started;
    await killing;
    const failedToStart = result.exitCode === undefined && result.signal === undefined;
    const signal = result.signal
      ? constants.signals[result.signal as keyof typeof constants.signals]
      : undefined;
    const stdout = out();
    const stderr = err();
    return {
      exitCode: failedToStart ? null : (result.exitCode ?? 128 + (signal ?? 9)),
      stdout: stdout.text,
      stderr: stderr.text,
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      extraOutput: extraOut.map((read) => read?.().text ?? ''),
      timedOut,
      overflowed,
      aborted,
      wallMs,
      spawnError: failedToStart ? (result.shortMessage ?? `cannot start ${file}`) : undefined,
    };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
