import type pg from 'pg';

/** The rows of `execution_jobs` (docs/design.md "The stack contract"), shared by the API and the worker. */
/**
 * The contract's terminal statuses: one list, for the API, the worker and its sandbox library
 * (what a run can end as), bench and audit.
 */
export const terminalStatuses = [
  'SUCCESS',
  'COMPILATION_ERROR',
  'RUNTIME_ERROR',
  'TIMEOUT',
  'MEMORY_LIMIT_EXCEEDED',
  'INTERNAL_ERROR',
] as const;
export const nonTerminalStatuses = ['QUEUED', 'COMPILING', 'RUNNING'] as const;
export type TerminalStatus = (typeof terminalStatuses)[number];
export type ExecutionStatus = TerminalStatus | (typeof nonTerminalStatuses)[number];
export type Language = 'python' | 'cpp';

export const isTerminal = (s: string): s is TerminalStatus =>
  (terminalStatuses as readonly string[]).includes(s);

/** A job as the API returns it and as it travels on the queue (snake_case, as upstream). */
export interface Job {
  job_id: string;
  language: Language;
  source_code: string;
  stdin: string;
  status: ExecutionStatus;
  stdout: string | null;
  stderr: string | null;
  exit_code: number | null;
  time_used_ms: number | null;
  memory_used_kb: number | null;
  time_limit_ms: number;
  memory_limit_kb: number;
  created_at: string;
  updated_at: string;
}

export interface NewJob {
  job_id: string;
  language: Language;
  source_code: string;
  stdin: string;
  time_limit_ms: number;
  memory_limit_kb: number;
}

export interface JobResultRow {
  status: TerminalStatus;
  stdout: string;
  stderr: string;
  exit_code: number | null;
  time_used_ms: number;
  memory_used_kb: number;
}

type Queryable = Pick<pg.Pool, 'query'>;

const columns = `job_id, language, source_code, stdin, status, stdout, stderr, exit_code, time_used_ms,
  memory_used_kb, time_limit_ms, memory_limit_kb,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at`;

export async function insertJob(db: Queryable, job: NewJob): Promise<Job> {
  const { rows } = await db.query<Job>(
    `INSERT INTO execution_jobs (job_id, language, source_code, stdin, time_limit_ms, memory_limit_kb)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${columns}`,
    [job.job_id, job.language, job.source_code, job.stdin, job.time_limit_ms, job.memory_limit_kb],
  );
  return rows[0]!;
}

/** Inserts the row of a job that arrived on the queue without one (published by another producer). */
export async function ensureJob(db: Queryable, job: NewJob): Promise<void> {
  await db.query(
    `INSERT INTO execution_jobs (job_id, language, source_code, stdin, time_limit_ms, memory_limit_kb)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id) DO NOTHING`,
    [job.job_id, job.language, job.source_code, job.stdin, job.time_limit_ms, job.memory_limit_kb],
  );
}

export async function getJob(db: Queryable, jobId: string): Promise<Job | undefined> {
  const { rows } = await db.query<Job>(`SELECT ${columns} FROM execution_jobs WHERE job_id = $1`, [jobId]);
  return rows[0];
}

export async function deleteJob(db: Queryable, jobId: string): Promise<void> {
  await db.query('DELETE FROM execution_jobs WHERE job_id = $1', [jobId]);
}

/**
 * Claims a job for execution in one round trip: moves it to COMPILING or RUNNING unless it
 * already has a result. Returns the status it has now, or undefined when there is no row.
 */
export async function claimJob(
  db: Queryable,
  jobId: string,
  status: 'COMPILING' | 'RUNNING',
): Promise<ExecutionStatus | undefined> {
  const { rows } = await db.query<{ status: ExecutionStatus }>(
    `WITH claimed AS (
       UPDATE execution_jobs SET status = $2, updated_at = now()
       WHERE job_id = $1 AND status IN ('QUEUED', 'COMPILING', 'RUNNING')
       RETURNING status)
     SELECT status FROM claimed
     UNION ALL
     SELECT status FROM execution_jobs WHERE job_id = $1 AND NOT EXISTS (SELECT 1 FROM claimed)`,
    [jobId, status],
  );
  return rows[0]?.status;
}

/** Moves a job to COMPILING or RUNNING; a job that already has a result keeps it. */
export async function setRunningStatus(
  db: Queryable,
  jobId: string,
  status: 'COMPILING' | 'RUNNING',
): Promise<boolean> {
  const r = await db.query(
    `UPDATE execution_jobs SET status = $2, updated_at = now()
     WHERE job_id = $1 AND status IN ('QUEUED', 'COMPILING', 'RUNNING')`,
    [jobId, status],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * Stores the result once: only a job without a terminal status is updated, so a redelivered job
 * that ran twice cannot overwrite the first stored result.
 */
export async function storeResult(db: Queryable, jobId: string, r: JobResultRow): Promise<boolean> {
  const res = await db.query(
    `UPDATE execution_jobs
     SET status = $2, stdout = $3, stderr = $4, exit_code = $5, time_used_ms = $6, memory_used_kb = $7,
         updated_at = now()
     WHERE job_id = $1 AND status IN ('QUEUED', 'COMPILING', 'RUNNING')`,
    [jobId, r.status, r.stdout, r.stderr, r.exit_code, r.time_used_ms, r.memory_used_kb],
  );
  return (res.rowCount ?? 0) > 0;
}

/** PostgreSQL text cannot hold NUL bytes; program output can. */
export function pgSafeText(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}
