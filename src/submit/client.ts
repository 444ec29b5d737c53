import WebSocket from 'ws';
import { sleep } from '../clients/backoff.js';
import type { Job } from '../jobs/repository.js';
import { isTerminal } from '../jobs/repository.js';
import { CheckFailedError, describeError, EnvironmentError, UserError } from '../lib/errors.js';

export interface SubmitRequest {
  language: 'python' | 'cpp';
  source_code: string;
  stdin?: string;
  time_limit_ms?: number;
  memory_limit_kb?: number;
}

/** What to run, from a file name when the language is not given. */
export function languageFromFile(file: string): 'python' | 'cpp' | undefined {
  if (/\.py$/i.test(file)) return 'python';
  if (/\.(cpp|cc|cxx|c\+\+)$/i.test(file)) return 'cpp';
  return undefined;
}

async function call(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: unknown; text: string }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    throw new EnvironmentError(
      `The API at ${new URL(url).origin} does not answer (${describeError(error)}).`,
      {
        code: 'API_UNREACHABLE',
        suggestion: 'Start the stack with `sentinel-ctl up`, or point API_URL at a running API.',
      },
    );
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, text };
}

const apiError = (body: unknown, text: string) =>
  (body as { error?: string } | null)?.error ?? text.slice(0, 200);

/** POST /api/v1/submissions; the API's 4xx/5xx become errors with the right exit code. */
export async function submitJob(
  apiUrl: string,
  req: SubmitRequest,
): Promise<{ job_id: string; status: string }> {
  const r = await call(`${apiUrl}/api/v1/submissions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(req),
  });
  if (r.status === 202) return r.body as { job_id: string; status: string };
  const msg = `The API refused the submission (HTTP ${r.status}): ${apiError(r.body, r.text)}`;
  if ([400, 405, 413, 415].includes(r.status)) throw new UserError(msg, { code: `HTTP_${r.status}` });
  throw new EnvironmentError(msg, {
    code: `HTTP_${r.status}`,
    suggestion:
      r.status === 429
        ? 'Wait a minute, or raise api.rateLimit (API_RATE_LIMIT).'
        : 'Check `sentinel-ctl status` and the API log (`sentinel-ctl logs api`).',
  });
}

export async function getJobFromApi(apiUrl: string, jobId: string): Promise<Job> {
  const r = await call(`${apiUrl}/api/v1/submissions/${jobId}`);
  if (r.status !== 200) {
    throw new EnvironmentError(`GET submission ${jobId}: HTTP ${r.status}: ${apiError(r.body, r.text)}`, {
      code: `HTTP_${r.status}`,
    });
  }
  return r.body as Job;
}

const pollTimeout = (jobId: string, status: string, timeoutMs: number) =>
  new CheckFailedError(`Job ${jobId} is still ${status} after ${timeoutMs / 1000} s.`, {
    code: 'POLL_TIMEOUT',
    suggestion: 'Is a worker running? `sentinel-ctl status`; a backlog shows in `sentinel-ctl diagnose`.',
  });

/**
 * Follows a job on the API's WebSocket stream (docs/api.md "Stream") until a terminal status.
 * Resolves undefined when there is no stream to follow (an API without the route, a refused
 * upgrade, a connection that ends early): the caller then polls.
 */
export function followJob(
  apiUrl: string,
  jobId: string,
  timeoutMs: number,
  onStatus?: (s: string) => void,
): Promise<Job | undefined> {
  const url = `${apiUrl.replace(/^http/, 'ws')}/api/v1/submissions/${jobId}/stream`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: 10_000 });
    let last = '';
    let settled = false;
    const done = (job: Job | undefined, error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners('message');
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
      if (error) reject(error);
      else resolve(job);
    };
    const timer = setTimeout(
      () => done(undefined, pollTimeout(jobId, last || 'QUEUED', timeoutMs)),
      timeoutMs,
    );
    ws.on('message', (data) => {
      let job: Job;
      try {
        job = JSON.parse(String(data)) as Job;
      } catch {
        return;
      }
      if (job.status !== last) {
        last = job.status;
        onStatus?.(last);
      }
      if (isTerminal(job.status)) done(job);
    });
    ws.on('unexpected-response', () => done(undefined));
    ws.on('error', () => done(undefined));
    ws.on('close', () => done(undefined));
  });
}

/**
 * Waits for a terminal status: on the WebSocket stream when the API has one (`stream`), else by
 * polling, 100 ms at first, backing off to 1 s.
 */
export async function waitForJob(
  apiUrl: string,
  jobId: string,
  timeoutMs: number,
  onStatus?: (s: string) => void,
  opts: { stream?: boolean } = {},
): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  const seen = (s: string) => {
    if (s === last) return;
    last = s;
    onStatus?.(s);
  };
  if (opts.stream) {
    const job = await followJob(apiUrl, jobId, timeoutMs, seen);
    if (job) return job;
  }
  let delay = 100;
  for (;;) {
    const job = await getJobFromApi(apiUrl, jobId);
    seen(job.status);
    if (isTerminal(job.status)) return job;
    if (Date.now() + delay > deadline) throw pollTimeout(jobId, job.status, timeoutMs);
    await sleep(delay);
    delay = Math.min(1000, Math.round(delay * 1.5));
  }
}
