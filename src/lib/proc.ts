import { closeSync, openSync } from 'node:fs';
import { type Options as ExecaOptions, execa } from 'execa';
import { EnvironmentError } from './errors.js';
import { debug } from './log.js';

/**
 * The one process wrapper (STYLE.md "Logic and I/O"): every child process of sentinel-ctl starts
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
  };
}

/** Runs a command to completion. Throws EnvironmentError (exit 3) when it cannot start or fails. */
export async function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  debug('proc', `run ${file} ${args.join(' ')}`);
  const result = await execa(file, args, {
    ...baseOptions(opts),
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
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
export function spawnDaemon(file: string, args: string[], opts: DaemonOptions): DaemonHandle {
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
