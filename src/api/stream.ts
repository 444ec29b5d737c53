import pg from 'pg';
import type { WebSocket } from 'ws';
import { backoffMs, sleep } from '../clients/backoff.js';
import { type ExecutionStatus, getJob, isTerminal, type Job } from '../jobs/repository.js';
import { describeError } from '../lib/errors.js';
import { pgClientUrl } from '../services/endpoints.js';

/** What migration 2's trigger sends on `execution_jobs_status` for every status change. */
export interface StatusNote {
  job_id: string;
  status: ExecutionStatus;
  exit_code: number | null;
  time_used_ms: number | null;
  memory_used_kb: number | null;
  updated_at: string;
}

export const STATUS_CHANNEL = 'execution_jobs_status';
type Listener = (note: StatusNote | 'resync') => void;

/**
 * One LISTEN connection for the whole API process, fanning PostgreSQL's notifications out to the
 * streams of the jobs they name. After a lost connection it reconnects with backoff and tells every
 * subscriber to `resync` (re-read its row): notifications sent meanwhile are gone for good.
 */
export class StatusFeed {
  private client: pg.Client | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  private closed = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly databaseUrl: string,
    private readonly log: (m: string) => void,
  ) {}

  get connected(): boolean {
    return this.client !== undefined;
  }

  get subscriptions(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }

  start(): void {
    this.loop ??= this.connectLoop();
  }

  subscribe(jobId: string, fn: Listener): () => void {
    const set = this.listeners.get(jobId) ?? new Set<Listener>();
    this.listeners.set(jobId, set);
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }

  private emit(jobId: string | undefined, note: StatusNote | 'resync'): void {
    const targets = jobId ? [this.listeners.get(jobId) ?? []] : this.listeners.values();
    for (const set of targets) for (const fn of [...set]) fn(note);
  }

  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.closed; ) {
      const client = new pg.Client({ connectionString: pgClientUrl(this.databaseUrl) });
      const lost = new Promise<void>((resolve) => {
        this.wake = resolve;
        client.on('error', () => resolve());
        client.on('end', () => resolve());
      });
      try {
        await client.connect();
        client.on('notification', (msg) => {
          if (msg.channel !== STATUS_CHANNEL || !msg.payload) return;
          try {
            const note = JSON.parse(msg.payload) as StatusNote;
            this.emit(note.job_id, note);
          } catch {
            // Not ours: ignore.
          }
        });
        await client.query(`LISTEN ${STATUS_CHANNEL}`);
        if (attempt > 0) this.log('api: status feed (LISTEN) reconnected; streams re-read their jobs');
        attempt = 0;
        this.client = client;
        this.emit(undefined, 'resync');
        await lost;
      } catch (error) {
        if (attempt === 0 && !this.closed)
          this.log(`api: status feed (LISTEN) lost: ${describeError(error)}`);
      }
      this.client = undefined;
      await client.end().catch(() => {});
      if (this.closed) break;
      await sleep(backoffMs(attempt++, 250, 5000), this.abort.signal);
    }
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    this.wake?.();
    await this.client?.end().catch(() => {});
    await this.loop;
  }
}

const rank = (s: ExecutionStatus) =>
  isTerminal(s) ? 3 : ({ QUEUED: 0, COMPILING: 1, RUNNING: 2 } as Record<string, number>)[s]!;

/**
 * One client's stream (docs/api.md "Stream"): the job document now, then again on every status
 * change, then close 1000 after a terminal status. Documents only move forward (a status never
 * repeats or goes back), whatever order a re-read and a notification arrive in.
 */
export function streamJob(
  ws: WebSocket,
  jobId: string,
  deps: { db: Pick<pg.Pool, 'query'>; feed: StatusFeed; pingIntervalMs: number; log: (m: string) => void },
): Promise<void> {
  let last = -1;
  let base: Job | undefined;
  let chain = Promise.resolve();
  const send = (job: Job) => {
    if (ws.readyState !== ws.OPEN || rank(job.status) <= last) return;
    last = rank(job.status);
    base = job;
    ws.send(JSON.stringify(job));
    if (isTerminal(job.status)) ws.close(1000, 'terminal status');
  };
  const reread = async () => {
    const job = await getJob(deps.db, jobId);
    if (job) send(job);
  };
  const onNote = (note: StatusNote | 'resync') => {
    chain = chain
      .then(async () => {
        if (note === 'resync' || isTerminal(note.status) || !base) await reread();
        // A running status carries no output: the notification itself is the new document.
        else send({ ...base, ...note, stdout: null, stderr: null });
      })
      .catch((error) => deps.log(`api: stream ${jobId}: ${describeError(error)}`));
  };
  const unsubscribe = deps.feed.subscribe(jobId, onNote);
  onNote('resync');
  let alive = true;
  ws.on('pong', () => {
    alive = true;
  });
  const ping = setInterval(() => {
    if (!alive) {
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, deps.pingIntervalMs);
  ws.on('error', () => {});
  return new Promise((resolve) => {
    ws.once('close', () => {
      clearInterval(ping);
      unsubscribe();
      resolve();
    });
  });
}
