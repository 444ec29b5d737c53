import { randomBytes } from 'node:crypto';
import { sleep } from '../clients/backoff.js';
import type { Job } from '../jobs/repository.js';
import { describeError, EnvironmentError, isSentinelError } from '../lib/errors.js';
import { processMatches } from '../services/state.js';
import { type SubmitRequest, submitJob, waitForJob } from '../submit/client.js';
import { startCanaries } from './canaries.js';
import { buildCatalogue } from './catalogue.js';
import { evaluate, MIN_SECRET_LENGTH, maskSecrets, searchableSecrets } from './evaluate.js';
import { reapSurvivors, watchComm } from './host-watch.js';
import type { AuditTarget } from './target.js';
import type { Attack, AuditReport, AuditRow, Secret } from './types.js';

export interface AuditOptions {
  /** Attacks in flight at once: about the worker pool, so none waits long in the queue. */
  concurrency: number;
  /** How long to wait for one job's result (queue + compile + run). */
  pollTimeoutMs?: number;
  /** Called as each row is decided (progress on stderr). */
  onRow?: (row: AuditRow, done: number, total: number) => void;
}

const DEFAULT_POLL_TIMEOUT_MS = 60_000;
const HELLO = 'print("hello, world")\n';
const HELLO_STDOUT = 'hello, world\n';

/** GET /api/v1/health: the API must answer, or there is nothing to audit (exit 3). */
async function checkApi(apiUrl: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${apiUrl}/api/v1/health`, { signal: AbortSignal.timeout(5000) });
  } catch (error) {
    throw new EnvironmentError(`The API at ${apiUrl} does not answer (${describeError(error)}).`, {
      code: 'API_UNREACHABLE',
      suggestion:
        'Start the stack with `sentinel-ctl up` (same --state-dir/--port-offset), or pass --api-url.',
    });
  }
  if (res.status !== 200) {
    const body = (await res.text()).slice(0, 200);
    throw new EnvironmentError(`The stack is not healthy (GET /api/v1/health: HTTP ${res.status} ${body}).`, {
      code: 'API_UNHEALTHY',
      suggestion: 'Check `sentinel-ctl status`; the audit needs every service up.',
    });
  }
}

/**
 * The API limits submissions per client IP per minute (tuning guide "API Server": API_RATE_LIMIT,
 * 100/min by default); an audit run right after another may meet it. Waiting out one window
 * (12 × 5 s) is enough for the limit to let the next submission through.
 */
const RATE_LIMIT_RETRIES = 12;
const RATE_LIMIT_WAIT_MS = 5000;
const SURVIVOR_GRACE_MS = 300;

async function submitPatiently(apiUrl: string, req: SubmitRequest): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await submitJob(apiUrl, req)).job_id;
    } catch (error) {
      const limited = isSentinelError(error) && error.code === 'HTTP_429';
      if (!limited || attempt >= RATE_LIMIT_RETRIES) throw error;
      await sleep(RATE_LIMIT_WAIT_MS);
    }
  }
}

/** Submits one attack through the API, waits for its result and judges it. Never throws. */
async function runAttack(
  apiUrl: string,
  attack: Attack,
  secrets: Secret[],
  pollTimeoutMs: number,
): Promise<AuditRow> {
  const base = {
    id: attack.id,
    category: attack.category,
    attack: attack.title,
    language: attack.language,
    expected: attack.expect.text,
  };
  let jobId: string;
  try {
    jobId = await submitPatiently(apiUrl, {
      language: attack.language,
      source_code: attack.source,
      time_limit_ms: attack.timeLimitMs,
      memory_limit_kb: attack.memoryLimitKb,
    });
  } catch (error) {
    return {
      ...base,
      status: 'NOT_SUBMITTED',
      verdict: 'INCONCLUSIVE',
      evidence: maskSecrets(describeError(error), secrets),
      reason: 'the API did not take the program',
      lines: [],
    };
  }
  const watch = attack.hostWatch === undefined ? undefined : watchComm(attack.hostWatch);
  let job: Job;
  let hostUids: number[] | undefined;
  try {
    job = await waitForJob(apiUrl, jobId, pollTimeoutMs);
  } catch (error) {
    watch?.stop();
    return {
      ...base,
      jobId,
      status: 'NO_RESULT',
      verdict: 'INCONCLUSIVE',
      evidence: maskSecrets(describeError(error), secrets),
      reason: 'no terminal status in time',
      lines: [],
    };
  } finally {
    hostUids = watch?.stop();
  }
  let survivors: number | undefined;
  // Only when the host saw the program at all: a worker on another machine is out of sight.
  if (attack.hostWatch !== undefined && attack.expect.noSurvivors && hostUids !== undefined) {
    // The worker stores a result only after the sandbox's processes are gone; a short grace
    // covers a kill still in flight.
    await sleep(SURVIVOR_GRACE_MS);
    survivors = reapSurvivors(attack.hostWatch).length;
  }
  const evaluation = evaluate(
    attack.expect,
    {
      status: job.status,
      stdout: job.stdout ?? '',
      stderr: job.stderr ?? '',
      exitCode: job.exit_code,
      timeUsedMs: job.time_used_ms,
      memoryUsedKb: job.memory_used_kb,
      ...(hostUids === undefined ? {} : { hostUids }),
      ...(survivors === undefined ? {} : { survivors }),
    },
    secrets,
  );
  return {
    ...base,
    jobId,
    status: job.status,
    timeUsedMs: job.time_used_ms,
    memoryUsedKb: job.memory_used_kb,
    ...evaluation,
  };
}

/**
 * After the suite: the API is healthy, the worker and API processes recorded in the state dir are
 * the same ones as before (a kill that left the sandbox would show here), and a Python hello world
 * still comes back SUCCESS. A stack the attacks hurt is an escape.
 */
async function stillServes(target: AuditTarget, secrets: Secret[], pollTimeoutMs: number): Promise<AuditRow> {
  const problems: string[] = [];
  const facts: string[] = [];
  try {
    const res = await fetch(`${target.apiUrl}/api/v1/health`, { signal: AbortSignal.timeout(5000) });
    if (res.status === 200) facts.push('health 200');
    else problems.push(`GET /api/v1/health: HTTP ${res.status}`);
  } catch (error) {
    problems.push(`the API does not answer (${describeError(error)})`);
  }
  for (const { name, record } of target.processes) {
    if (processMatches(record)) facts.push(`${name} pid ${record.pid} alive`);
    else problems.push(`the ${name} (pid ${record.pid}) is gone`);
  }
  let status = 'NOT_SUBMITTED';
  let jobId: string | undefined;
  if (problems.length === 0) {
    try {
      jobId = await submitPatiently(target.apiUrl, { language: 'python', source_code: HELLO });
      const job = await waitForJob(target.apiUrl, jobId, pollTimeoutMs);
      status = job.status;
      if (job.status === 'SUCCESS' && job.stdout === HELLO_STDOUT)
        facts.push('hello world → SUCCESS "hello, world"');
      else
        problems.push(
          `hello world → ${job.status}, stdout ${JSON.stringify((job.stdout ?? '').slice(0, 80))}`,
        );
    } catch (error) {
      status = jobId === undefined ? 'NOT_SUBMITTED' : 'NO_RESULT';
      problems.push(`hello world: ${describeError(error)}`);
    }
  }
  const ok = problems.length === 0;
  return {
    id: 'stack-still-serves',
    category: 'stack',
    attack: 'after the suite: the stack still serves (health, worker and API alive, Python hello world)',
    language: 'python',
    expected: 'health 200; same worker and API processes; SUCCESS "hello, world"',
    status,
    jobId,
    verdict: ok ? 'contained' : 'ESCAPE',
    evidence: maskSecrets((ok ? facts : problems).join('; '), secrets),
    reason: ok ? 'the stack is unhurt' : 'the attacks hurt the stack',
    lines: [],
  };
}

/**
 * Runs the whole audit against a live stack: checks the API answers (else exit 3), starts the host
 * canaries, submits every attack a few at a time, judges each, then adds a row for the canaries
 * and one for the stack's health afterwards. Rows come back in catalogue order.
 */
export async function runAudit(target: AuditTarget, options: AuditOptions): Promise<AuditReport> {
  const started = Date.now();
  const pollTimeoutMs = options.pollTimeoutMs ?? DEFAULT_POLL_TIMEOUT_MS;
  await checkApi(target.apiUrl);
  const canaries = await startCanaries();
  const rows: AuditRow[] = [];
  const warnings: string[] = [];
  if (target.processes.length === 0) {
    warnings.push(
      'no pid files of the worker or the API in the state dir: their survival is judged by the API alone',
    );
  }
  const { secrets, tooShort } = searchableSecrets([
    ...target.secrets,
    { label: "host canary's token", value: canaries.token },
  ]);
  for (const label of tooShort) {
    warnings.push(
      `the ${label} is shorter than ${MIN_SECRET_LENGTH} characters, so the output is not searched for it`,
    );
  }
  try {
    const ctx = {
      ...target.context,
      canary: { tcpPort: canaries.tcpPort, udpPort: canaries.udpPort, unixName: canaries.unixName },
      // 15 characters each, the most a comm holds.
      markers: {
        uid: `su-${randomBytes(6).toString('hex')}`,
        daemon: `sd-${randomBytes(6).toString('hex')}`,
      },
    };
    const attacks = buildCatalogue(ctx);
    const total = attacks.length + 2;
    const results: AuditRow[] = new Array(attacks.length);
    let next = 0;
    let done = 0;
    const lanes = Math.max(1, Math.min(options.concurrency, attacks.length));
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        // Each lane takes the next attack until none is left: at most `lanes` jobs in flight.
        while (next < attacks.length) {
          const i = next++;
          const row = await runAttack(target.apiUrl, attacks[i]!, secrets, pollTimeoutMs);
          results[i] = row;
          options.onRow?.(row, ++done, total);
        }
      }),
    );
    rows.push(...results);

    const hits = canaries.hits();
    const contacts = hits.tcp + hits.udp + hits.unix;
    const canaryRow: AuditRow = {
      id: 'host-canaries',
      category: 'network',
      attack: 'host canaries: TCP and UDP on 127.0.0.1, an abstract unix socket, contacted by no sandbox',
      language: '-',
      expected: 'no contact',
      status: '-',
      verdict: contacts === 0 ? 'contained' : 'ESCAPE',
      evidence: `${hits.tcp} TCP connections, ${hits.udp} UDP datagrams, ${hits.unix} unix connections`,
      reason: contacts === 0 ? 'no sandbox reached the host' : 'a sandbox reached a listener on the host',
      lines: [],
    };
    rows.push(canaryRow);
    options.onRow?.(canaryRow, ++done, total);
  } finally {
    await canaries.close();
  }
  const last = await stillServes(target, secrets, pollTimeoutMs);
  rows.push(last);
  options.onRow?.(last, rows.length, rows.length);

  return {
    apiUrl: target.apiUrl,
    rows,
    summary: {
      total: rows.length,
      contained: rows.filter((r) => r.verdict === 'contained').length,
      escapes: rows.filter((r) => r.verdict === 'ESCAPE').length,
      inconclusive: rows.filter((r) => r.verdict === 'INCONCLUSIVE').length,
    },
    durationMs: Date.now() - started,
    warnings,
  };
}
