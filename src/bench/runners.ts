import { randomUUID } from 'node:crypto';
import { type IterationContext, now, type ScenarioRunner, type VirtualUser } from './engine.js';
import { HttpClient, type HttpResponse } from './http.js';
import { type FailureKind, MetricStore, OVERALL } from './metrics.js';
import { terminalStatuses } from './payloads.js';
import { RawHttpClient } from './rawhttp.js';
import {
  compileTemplate,
  type HttpScenarioSpec,
  type RequestSpec,
  readJsonPath,
  renderTemplate,
  type ScenarioSpec,
  type SentinelScenarioSpec,
  type Template,
  weightedPicker,
} from './scenario.js';

export interface RunnerOptions {
  /** Connections per origin (null: as many as requests in flight). */
  connections: number | null;
  /** Closed model: one connection per VU instead of a shared pool. */
  perVuConnections: boolean;
  timeoutMs: number;
  /** Single-URL mode over plain http: the lean raw-socket client (rawhttp.ts) instead of undici. */
  lean?: boolean;
}

/** What a runner sends with: undici (HttpClient) or the lean raw-socket client. */
type Sender = Pick<HttpClient, 'send' | 'close'> & { sendCb?: RawHttpClient['sendCb'] };

/** Builds the runner for a scenario; each thread builds its own from the same plain spec. */
export function createRunner(spec: ScenarioSpec, opts: RunnerOptions): ScenarioRunner {
  if (spec.kind === 'sentinel') return new SentinelRunner(spec, new HttpClient(opts));
  const lean = opts.lean && new URL(spec.baseUrl).protocol === 'http:';
  return new HttpRunner(
    spec,
    lean ? new RawHttpClient(new URL(spec.baseUrl).origin, opts) : new HttpClient(opts),
  );
}

/** k6's default expectation is a status from 200 to 399. */
function statusFailed(status: number, expect: number[]): boolean {
  return expect.length > 0 ? !expect.includes(status) : status < 200 || status >= 400;
}

const jsonEscape = (s: string) => JSON.stringify(s).slice(1, -1);

/** A request compiled once: templates for the parts that hold variables, constants otherwise. */
interface CompiledRequest {
  spec: RequestSpec;
  path: Template;
  /** The path with the base URL's prefix when it holds no variables (rendered once). */
  fixedPath?: string;
  headers: Array<[string, Template]>;
  staticHeaders?: Record<string, string>;
  body?: Template;
  bodyIsJson: boolean;
  needsUuid: boolean;
  needsTimestamp: boolean;
  needsIter: boolean;
  captures: Array<[string, string]>;
}

function compile(spec: RequestSpec): CompiledRequest {
  const headers: Record<string, string> = { ...spec.headers };
  let body: string | undefined = spec.body;
  const bodyIsJson = spec.json !== undefined;
  if (bodyIsJson) {
    body = JSON.stringify(spec.json);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
  }
  const texts = [spec.path, ...Object.values(headers), body ?? ''].join('\n');
  const headerTemplates = Object.entries(headers).map(
    ([k, v]) => [k, compileTemplate(v)] as [string, Template],
  );
  return {
    spec,
    path: compileTemplate(spec.path),
    headers: headerTemplates,
    staticHeaders: headerTemplates.every(([, t]) => typeof t === 'string') ? headers : undefined,
    body: body === undefined ? undefined : compileTemplate(body),
    bodyIsJson,
    needsUuid: texts.includes('uuid}'),
    needsTimestamp: texts.includes('timestamp}'),
    needsIter: texts.includes('iter}'),
    captures: Object.entries(spec.capture),
  };
}

/**
 * The YAML scenario: an optional setup request per VU (its captures become variables), then
 * one weighted request per iteration, then think time (closed model).
 */
class HttpRunner implements ScenarioRunner {
  private readonly origin: string;
  private readonly prefix: string;
  private readonly setupReq?: CompiledRequest;
  private readonly requests: CompiledRequest[];
  private readonly pick: () => number;

  constructor(
    private readonly spec: HttpScenarioSpec,
    private readonly client: Sender,
  ) {
    const base = new URL(spec.baseUrl);
    this.origin = base.origin;
    // A base URL with a path (http://host/api) prefixes every request path.
    this.prefix = base.pathname.replace(/\/$/, '');
    this.setupReq = spec.setup ? compile(spec.setup) : undefined;
    this.requests = spec.requests.map(compile);
    for (const r of this.requests) if (typeof r.path === 'string') r.fixedPath = this.prefix + r.path;
    this.pick = weightedPicker(spec.requests.map((r) => r.weight));
  }

  async setup(vu: VirtualUser, ctx: IterationContext): Promise<void> {
    vu.vars.vu = String(vu.id);
    if (this.setupReq) await this.send(this.setupReq, vu, ctx, undefined);
  }

  iterate(vu: VirtualUser, ctx: IterationContext, dueAt: number | undefined): Promise<void> {
    return this.send(this.requests[this.pick()]!, vu, ctx, dueAt);
  }

  /** The same iteration without promises: `done` is called once it is recorded (the hot path). */
  iterateCb(
    vu: VirtualUser,
    ctx: IterationContext,
    dueAt: number | undefined,
    startedAt: number,
    done: (endedAt: number) => void,
  ): void {
    this.sendCb(this.requests[this.pick()]!, vu, ctx, dueAt, startedAt, done);
  }

  /**
   * Primes with the scenario's first request when it is a GET or HEAD without variables (safe to
   * repeat), otherwise with a GET of the base path: either opens the connections and runs the
   * client's hot path; statuses do not matter and nothing is recorded.
   */
  prime(connections: number, requests: number): Promise<number> {
    const first = this.requests[0]!;
    const safe =
      ['GET', 'HEAD'].includes(first.spec.method) && typeof first.path === 'string' && first.staticHeaders;
    if (!safe)
      return primeClient(
        this.client,
        this.origin,
        'GET',
        `${this.prefix}/`,
        undefined,
        connections,
        requests,
      );
    // The whole measured path (render, send, classify, record) into a store nobody reads, so
    // the JIT has compiled all of it, not only the client, when the clock starts.
    const headers = { ...first.staticHeaders, [PRIME_HEADER]: '1' };
    const marked: CompiledRequest = { ...first, staticHeaders: headers };
    const ctx: IterationContext = {
      store: new MetricStore(),
      second: () => 0,
      sleep: async () => true,
    };
    return primeRounds(connections, requests, (k) =>
      this.send(
        marked,
        { id: k + 1, vars: {}, iter: 0, ready: true, running: false, retired: false },
        ctx,
        undefined,
      ).then(() => ctx.store.requests.get(OVERALL)!.failures.refused === 0),
    );
  }

  thinkMs(): number {
    const t = this.spec.thinkTime;
    if (!t) return 0;
    return t.minMs + Math.random() * (t.maxMs - t.minMs);
  }

  close(force: boolean): Promise<void> {
    return this.client.close(force);
  }

  private send(r: CompiledRequest, vu: VirtualUser, ctx: IterationContext, dueAt: number | undefined) {
    return new Promise<void>((resolve) => this.sendCb(r, vu, ctx, dueAt, undefined, () => resolve()));
  }

  /**
   * Renders, sends, classifies and records one request, then calls `done` with the clock it
   * recorded at. `startedAt`: the clock the caller has just read, used as the send time when
   * there is nothing to render (a fixed request); otherwise the clock is read after rendering.
   */
  private sendCb(
    r: CompiledRequest,
    vu: VirtualUser,
    ctx: IterationContext,
    dueAt: number | undefined,
    startedAt: number | undefined,
    done: (endedAt: number) => void,
  ): void {
    const vars = vu.vars;
    if (r.needsIter) vars.iter = String(vu.iter);
    if (r.needsUuid) vars.uuid = randomUUID();
    if (r.needsTimestamp) vars.timestamp = String(Date.now());
    let headers = r.staticHeaders;
    if (!headers) {
      headers = {};
      for (const [k, t] of r.headers) headers[k] = renderTemplate(t, vars);
    }
    const body =
      r.body === undefined ? undefined : renderTemplate(r.body, vars, r.bodyIsJson ? jsonEscape : undefined);
    const path = r.fixedPath ?? this.prefix + renderTemplate(r.path, vars);
    const fixed = r.staticHeaders !== undefined && r.body === undefined && r.fixedPath !== undefined;
    const sentAt = fixed && startedAt !== undefined ? startedAt : now();
    const t0 = dueAt ?? sentAt;
    const wantBody = r.captures.length > 0;
    const record = (res: HttpResponse) => {
      const t1 = now();
      let failure: FailureKind | undefined = res.error
        ? (res.cause ?? 'network')
        : statusFailed(res.status, r.spec.expect)
          ? 'status'
          : undefined;
      if (!failure && wantBody && !capture(res, r.captures, vars)) failure = 'check';
      ctx.store.recordRequest(r.spec.name, r.spec.method, t1 - t0, res.bytes, failure, ctx.second(t1));
      done(t1);
    };
    if (this.client.sendCb)
      this.client.sendCb(r.spec.method, path, headers, body, wantBody, vu.id - 1, sentAt, record);
    else
      void this.client
        .send(this.origin, r.spec.method, path, headers, body, wantBody, vu.id - 1)
        .then(record);
  }
}

/** Keeps captured values; false when the body is not JSON or a path is missing. */
function capture(
  res: HttpResponse,
  captures: Array<[string, string]>,
  vars: Record<string, string>,
): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(res.body?.toString('utf8') ?? '');
  } catch {
    return false;
  }
  let ok = true;
  for (const [name, path] of captures) {
    const v = readJsonPath(doc, path);
    if (v === undefined || v === null) ok = false;
    else vars[name] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return ok;
}

/**
 * The built-in Sentinel scenario, against the API contract of docs/design.md ("The stack contract"):
 * POST /api/v1/submissions → 202 {job_id}; poll GET /api/v1/submissions/:id until a terminal
 * status; compare stdout. Records e2e_duration (from the job's created_at/updated_at when the API
 * returns them, else from the submit's due or send time to the poll that saw the terminal status),
 * e2e_observed (always the client's view, which includes up to one poll interval), execution_errors,
 * checks and poll_timeouts.
 */
class SentinelRunner implements ScenarioRunner {
  private readonly origin: string;
  private readonly prefix: string;
  private readonly bodies: string[];
  private readonly pick: () => number;

  constructor(
    private readonly spec: SentinelScenarioSpec,
    private readonly client: HttpClient,
  ) {
    const base = new URL(spec.baseUrl);
    this.origin = base.origin;
    this.prefix = base.pathname.replace(/\/$/, '');
    this.bodies = spec.payloads.map((p) =>
      JSON.stringify({
        language: p.language,
        source_code: p.source,
        ...(p.stdin === undefined ? {} : { stdin: p.stdin }),
      }),
    );
    this.pick = weightedPicker(spec.payloads.map((p) => p.weight));
  }

  async setup(vu: VirtualUser): Promise<void> {
    vu.vars.vu = String(vu.id);
  }

  /** Primes with the health endpoint: submitting jobs before the clock would load the stack. */
  prime(connections: number, requests: number): Promise<number> {
    return primeClient(
      this.client,
      this.origin,
      'GET',
      `${this.prefix}/api/v1/health`,
      undefined,
      connections,
      requests,
    );
  }

  thinkMs(): number {
    return 0;
  }

  close(force: boolean): Promise<void> {
    return this.client.close(force);
  }

  async iterate(vu: VirtualUser, ctx: IterationContext, dueAt: number | undefined): Promise<void> {
    const i = this.pick();
    const payload = this.spec.payloads[i]!;
    const t0 = dueAt ?? now();
    const res = await this.client.send(
      this.origin,
      'POST',
      `${this.prefix}/api/v1/submissions`,
      { 'content-type': 'application/json' },
      this.bodies[i],
      true,
      vu.id - 1,
    );
    const t1 = now();
    const jobId = res.error || res.status !== 202 ? undefined : parseJson(res.body)?.job_id;
    const failure: FailureKind | undefined = res.error
      ? (res.cause ?? 'network')
      : res.status !== 202
        ? 'status'
        : typeof jobId !== 'string'
          ? 'check'
          : undefined;
    ctx.store.recordRequest('submit', 'POST', t1 - t0, res.bytes, failure, ctx.second(t1));
    if (failure) return;
    const deadline = t0 + this.spec.pollTimeoutMs;
    const path = `${this.prefix}/api/v1/submissions/${encodeURIComponent(jobId as string)}`;
    for (;;) {
      const wait = Math.min(this.spec.pollIntervalMs, deadline - now());
      if (wait > 0 && !(await ctx.sleep(wait, true))) return;
      const p0 = now();
      const poll = await this.client.send(this.origin, 'GET', path, undefined, undefined, true, vu.id - 1);
      const p1 = now();
      const job = poll.error || poll.status !== 200 ? undefined : parseJson(poll.body);
      const status = typeof job?.status === 'string' ? job.status : undefined;
      const pollFailure: FailureKind | undefined = poll.error
        ? (poll.cause ?? 'network')
        : poll.status !== 200
          ? 'status'
          : status === undefined
            ? 'check'
            : undefined;
      ctx.store.recordRequest('poll', 'GET', p1 - p0, poll.bytes, pollFailure, ctx.second(p1));
      if (status !== undefined && terminalStatuses.has(status)) {
        // The stack's own timestamps (created_at → updated_at of the terminal write) give the job's
        // real end-to-end time; the client only sees it at the next poll (up to one interval later).
        const server = serverE2e(job);
        ctx.store.addTrend('e2e_duration', payload.name, server ?? p1 - t0);
        ctx.store.addTrend('e2e_observed', payload.name, p1 - t0);
        ctx.store.addCount(server === undefined ? 'e2e_client_timed' : 'e2e_server_timed', payload.name);
        ctx.store.addRate('execution_errors', payload.name, status !== payload.expectedStatus);
        ctx.store.addRate(
          'checks',
          payload.name,
          status === payload.expectedStatus && job?.stdout === payload.expectedStdout,
        );
        return;
      }
      if (now() >= deadline) {
        ctx.store.addCount('poll_timeouts', payload.name);
        return;
      }
    }
  }
}

/** created_at → updated_at of a terminal job, ms; undefined when the API does not return both. */
export function serverE2e(job: Record<string, unknown> | undefined): number | undefined {
  const a = typeof job?.created_at === 'string' ? Date.parse(job.created_at) : Number.NaN;
  const b = typeof job?.updated_at === 'string' ? Date.parse(job.updated_at) : Number.NaN;
  return Number.isFinite(a) && Number.isFinite(b) && b >= a ? b - a : undefined;
}

/** The header every priming request carries. */
export const PRIME_HEADER = 'x-bench-prime';

/** Priming never takes longer than this, whatever the request count asks. */
const PRIME_MAX_MS = 1000;

/** Priming with one fixed request (opens the connections, warms the client). */
async function primeClient(
  client: Sender,
  origin: string,
  method: string,
  path: string,
  headers: Record<string, string> | undefined,
  connections: number,
  requests: number,
): Promise<number> {
  // Marked, so a server (or its logs) can tell priming from measured traffic.
  const marked = { ...headers, [PRIME_HEADER]: '1' };
  return primeRounds(connections, requests, async (k) => {
    const r = await client.send(origin, method, path, marked, undefined, false, k);
    return !r.error;
  });
}

/**
 * One request on every connection at once (`send(k)` uses connection slot k, so each opens), then
 * rounds of `connections` requests until `requests` were sent or PRIME_MAX_MS passed; stops early
 * when a whole round failed (the target is unreachable: the run will say so). Returns the count.
 */
async function primeRounds(connections: number, requests: number, send: (k: number) => Promise<boolean>) {
  const deadline = now() + PRIME_MAX_MS;
  let sent = 0;
  do {
    const round = Math.max(1, Math.min(connections, requests - sent));
    const ok = await Promise.all(Array.from({ length: round }, (_, k) => send(k)));
    sent += round;
    if (!ok.some(Boolean)) break;
  } while (sent < requests && now() < deadline);
  return sent;
}

function parseJson(body: Buffer | undefined): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(body?.toString('utf8') ?? '');
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
