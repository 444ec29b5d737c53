/**
 * The three kinds of error a user can see (docs/design.md "Errors and exit codes"), each with its
 * exit code: 1 a check the user asked for failed, 2 bad usage or invalid input, 3 the environment
 * lacks something.
 * Anything else that escapes is a bug and is reported as such.
 */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  environment: 3,
  /** Stopped by Ctrl-C (128 + SIGINT), as shells report it. */
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  /** What to do next, printed as a hint line. */
  suggestion?: string;
  /** A machine-readable code for --json output and tests. */
  code?: string;
  cause?: unknown;
  /** What the command found before failing (a report, a comparison): `--json` prints it as `result`. */
  result?: unknown;
}

export class SentinelError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly suggestion?: string;
  readonly code: string;
  readonly result?: unknown;

  constructor(message: string, exitCode: ExitCodeValue, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.result = details.result;
    this.exitCode = exitCode;
    this.suggestion = details.suggestion;
    this.code = details.code ?? 'ERROR';
  }
}

/** Bad flags, arguments, config or input files: exit 2. */
export class UserError extends SentinelError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, ExitCode.usage, { code: 'USAGE', ...details });
  }
}

/** Something outside the tool is missing or failed: a binary, a port, a server. Exit 3. */
export class EnvironmentError extends SentinelError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, ExitCode.environment, { code: 'ENVIRONMENT', ...details });
  }
}

/**
 * A check the user asked for did not pass (threshold, finding, escape). Exit 1. Give what was
 * found as `details.result`: the base command prints it in the `--json` envelope.
 */
export class CheckFailedError extends SentinelError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, ExitCode.checkFailed, { code: 'CHECK_FAILED', ...details });
  }
}

/** Ctrl-C: exit 130, as shells report a process stopped by SIGINT. */
export class InterruptedError extends SentinelError {
  constructor(message = 'Interrupted.', details: ErrorDetails = {}) {
    super(message, ExitCode.interrupted, { code: 'INTERRUPTED', ...details });
  }
}

export function isSentinelError(error: unknown): error is SentinelError {
  return error instanceof SentinelError;
}

/** A short one-line description of any thrown value, for wrapping lower-level failures. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return describeError(error.errors[0]);
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const msg = error.message || code || error.name;
    return code && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(error);
}
