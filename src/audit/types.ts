/**
 * The vocabulary of `audit sandbox`: hostile programs (attacks) with what containment looks like,
 * what a run through the real stack showed (observation), and the verdict per row.
 */
import type { TerminalStatus } from '../jobs/repository.js';

/** Terminal statuses of the stack contract (docs/design.md "The stack contract"). */
export type AuditStatus = TerminalStatus;

/**
 * contained: the evidence shows the attack was stopped. ESCAPE: the evidence shows it was not
 * (a secret in the output, an `ESCAPED:` line, a limit that did not hold, a hurt stack).
 * INCONCLUSIVE: the attack did not run the way it must for its output to prove anything (it did
 * not compile, ended with a status no containment produces, printed fewer probe lines) — not proof
 * of an escape, but no proof of containment either, so the audit fails on it too.
 */
export type Verdict = 'contained' | 'ESCAPE' | 'INCONCLUSIVE';

export type AttackCategory = 'network' | 'secrets' | 'filesystem' | 'privilege' | 'processes' | 'resources';

/** What the audit knows about the stack under test, written into the attack programs. */
export interface AttackContext {
  /** The stack's own TCP ports on 127.0.0.1. */
  ports: {
    postgres: number;
    redis: number;
    rabbitmq: number;
    rabbitmqManagement: number;
    api: number;
    workerMetrics: number;
  };
  /** Absolute host paths a program must not reach. */
  stateDir: string;
  credentialsFile: string;
  /** The config file the audit loaded, when there is one (it may hold passwords). */
  configFile?: string;
  postgresSocket: string;
  /** Host pids of the worker and the API (from the state dir), when known. */
  workerPid?: number;
  apiPid?: number;
  /** Host-side listeners that count every contact from a sandbox (see canaries.ts). */
  canary: { tcpPort: number; udpPort: number; unixName: string };
  /** The process limit of the guide (sentinel-tuning-guide.md "nsjail Sandbox Limits": pids 64). */
  pidsLimit: number;
  /** The writable /tmp of the guide's python / cpp-run phases, MB ("nsjail Sandbox Limits": 64). */
  tmpfsMb: number;
  /** The host's own hostname, which a program in its own UTS namespace must not see. */
  hostHostname: string;
  /**
   * Process names (comm, 15 characters) unique to this run, which two attacks take with
   * prctl(PR_SET_NAME) so the audit can find their processes on the host: `uid` to read the real
   * uid there, `daemon` to see whether a process outlived its job.
   */
  markers: { uid: string; daemon: string };
}

/** What containment looks like for one attack. */
export interface Expectation {
  /** In words, for the report's "expected" column. */
  text: string;
  /** Statuses a contained run ends with. */
  statuses: readonly AuditStatus[];
  /** Exactly this many `BLOCKED:` lines when every probe of the program was refused. */
  blocked?: number;
  /** A line (stdout or stderr) that must be present, e.g. the worker's note on the limit it applied. */
  evidence?: RegExp;
  /** The worker must have cut stdout to about this many bytes (output flood). */
  maxStdoutBytes?: number;
  /** Seen from the host (by the attack's marker), the program must not run as uid 0. */
  hostNotRoot?: boolean;
  /** Once the job has ended, no process with the attack's marker may be left on the host. */
  noSurvivors?: boolean;
}

/** One hostile program, ready to submit. */
export interface Attack {
  id: string;
  category: AttackCategory;
  /** The attack in words (the report's first column). */
  title: string;
  language: 'python' | 'cpp';
  source: string;
  timeLimitMs: number;
  memoryLimitKb?: number;
  expect: Expectation;
  /** While the job runs, look on the host for a process with this name (comm) and note its uids. */
  hostWatch?: string;
}

/** What a run through the stack showed. */
export interface Observation {
  status: string;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  timeUsedMs: number | null;
  memoryUsedKb: number | null;
  /**
   * Real and effective uids, as the host sees them, of the processes that carried the attack's
   * marker; undefined when none was seen (a worker on another machine, or the program never ran).
   */
  hostUids?: number[];
  /** Processes with the attack's marker still alive on the host after the job ended (when checked). */
  survivors?: number;
}

/** A value that must never appear in a program's output, with a name to report instead of it. */
export interface Secret {
  label: string;
  value: string;
}

export interface Evaluation {
  verdict: Verdict;
  /** The line that decided the verdict (secrets masked). */
  evidence: string;
  /** Why the verdict, in words. */
  reason: string;
  /** Every BLOCKED/ESCAPED line the program printed (secrets masked). */
  lines: string[];
}

/** One row of the report. */
export interface AuditRow extends Evaluation {
  id: string;
  category: AttackCategory | 'stack';
  attack: string;
  language: 'python' | 'cpp' | '-';
  expected: string;
  /** Final status of the job, or what happened instead (e.g. NO_RESULT). */
  status: string;
  jobId?: string;
  timeUsedMs?: number | null;
  memoryUsedKb?: number | null;
}

export interface AuditReport {
  apiUrl: string;
  rows: AuditRow[];
  summary: { total: number; contained: number; escapes: number; inconclusive: number };
  /** Wall time of the whole audit (information, never asserted). */
  durationMs: number;
  /** What weakens the audit (a short password, no pid files), in words. */
  warnings: string[];
}
