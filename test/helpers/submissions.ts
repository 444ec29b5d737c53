import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { isTerminal, type Job } from '../../src/jobs/repository.js';
import { pgClientUrl } from '../../src/services/endpoints.js';
import type { TestStack } from './stack.js';

/** A fresh connection to a test stack's database for one check (survives PostgreSQL restarts). */
export async function withDb<T>(stack: TestStack, fn: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: pgClientUrl(stack.urls.databaseUrl) });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end().catch(() => {});
  }
}

/** One submission of a stream: what was sent, what the API said, and what the program must print. */
export interface Submitted {
  n: number;
  expected: string;
  httpStatus: number;
  jobId?: string;
  /** A transport error instead of an HTTP answer (the API was down). */
  error?: string;
}

/**
 * A steady stream of distinct Python submissions against a real API: job n prints `n * 7 + 3`, so
 * every stored output can be checked, and every source carries the stream's marker so the rows
 * it created can be found (and counted) in PostgreSQL.
 */
export class SubmissionStream {
  readonly marker = `stream-${randomUUID()}`;
  readonly sent: Submitted[] = [];
  private timer?: NodeJS.Timeout;
  private inflight = new Set<Promise<void>>();
  private n = 0;

  constructor(
    private readonly apiUrl: string,
    private readonly intervalMs = 125,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.submitOne(), this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.inflight);
  }

  private submitOne(): void {
    const n = this.n++;
    const entry: Submitted = { n, expected: `${n * 7 + 3}\n`, httpStatus: 0 };
    this.sent.push(entry);
    const body = JSON.stringify({
      language: 'python',
      source_code: `# ${this.marker} n=${n}\nprint(${n} * 7 + 3)\n`,
    });
    const p = fetch(`${this.apiUrl}/api/v1/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(15_000),
    })
      .then(async (res) => {
        entry.httpStatus = res.status;
        const json = (await res.json().catch(() => ({}))) as { job_id?: string };
        if (res.status === 202) entry.jobId = json.job_id;
      })
      .catch((e: Error) => {
        entry.error = e.cause instanceof Error ? e.cause.message : e.message;
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  accepted(): Submitted[] {
    return this.sent.filter((s) => s.httpStatus === 202 && s.jobId);
  }

  /** Every row this stream created, by job id. */
  async rows(db: pg.Client): Promise<Map<string, Job>> {
    const { rows } = await db.query<Job>(
      'SELECT job_id, status, stdout, stderr, source_code FROM execution_jobs WHERE source_code LIKE $1',
      [`# ${this.marker} %`],
    );
    return new Map(rows.map((r) => [r.job_id, r]));
  }

  /**
   * Polls until every job accepted so far (a snapshot: the stream goes on) has a terminal row;
   * returns the ones still not terminal when the deadline passes.
   */
  async waitTerminal(db: pg.Client, deadlineMs: number): Promise<string[]> {
    const ids = this.accepted().map((s) => s.jobId!);
    const end = Date.now() + deadlineMs;
    for (;;) {
      const rows = await this.rows(db).catch(() => undefined);
      if (rows) {
        const open = ids.filter((id) => !rows.has(id) || !isTerminal(rows.get(id)!.status));
        if (open.length === 0 || Date.now() > end) return open;
      } else if (Date.now() > end) {
        return ['(database unreachable)'];
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
