import { randomUUID } from 'node:crypto';
import { type IterationContext, now, type ScenarioRunner, type VirtualUser } from './engine.js';
import { HttpClient, type HttpResponse } from './http.js';
import type { FailureKind } from './metrics.js';
import { terminalStatuses } from './payloads.js';
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
}

/** Builds the runner for a scenario; each thread builds its own from the same plain spec. */
export function createRunner(spec: ScenarioSpec, opts: RunnerOptions): ScenarioRunner {
  const client = new HttpClient(opts);
  return spec.kind === 'sentinel' ? new SentinelRunner(spec, client) : new HttpRunner(spec, client);
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
    private readonly client: HttpClient,
  ) {
    const base = new URL(spec.baseUrl);
    this.origin = base.origin;
    // A base URL with a path (http://host/api) prefixes every request path.
    this.prefix = base.pathname.replace(/\/$/, '');
    this.setupReq = spec.setup ? compile(spec.setup) : undefined;
    this.requests = spec.requests.map(compile);
    this.pick = weightedPicker(spec.requests.map((r) => r.weight));
  }

  async setup(vu: VirtualUser, ctx: IterationContext): Promise<void> {
    vu.vars.vu = String(vu.id);
    if (this.setupReq) await this.send(this.setupReq, vu, ctx, undefined);
  }

  iterate(vu: VirtualUser, ctx: IterationContext, dueAt: number | undefined): Promise<void> {
    return this.send(this.requests[this.pick()]!, vu, ctx, dueAt);
  }

  thinkMs(): number {
    const t = this.spec.thinkTime;
    if (!t) return 0;
    return t.minMs + Math.random() * (t.maxMs - t.minMs);
  }

  close(force: boolean): Promise<void> {
    return this.client.close(force);
  }

  private async send(r: CompiledRequest, vu: VirtualUser, ctx: IterationContext, dueAt: number | undefined) {
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
    const t0 = dueAt ?? now();
    const res = await this.client.send(
      this.origin,
      r.spec.method,
      this.prefix + renderTemplate(r.path, vars),
      headers,
      body,
      r.captures.length > 0,
      vu.id - 1,
    );
    const t1 = now();
    let failure: FailureKind | undefined = res.error
      ? 'network'
      : statusFailed(res.status, r.spec.expect)
        ? 'status'
        : undefined;
    if (!failure && r.captures.length > 0 && !capture(res, r.captures, vars)) failure = 'check';
    ctx.store.recordRequest(r.spec.name, r.spec.method, t1 - t0, res.bytes, failure, ctx.second(t1));
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
 * status; compare stdout. Records e2e_duration (from the submit's due or send time to the poll
 * that saw the terminal status), execution_errors, checks and poll_timeouts.
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
      ? 'network'
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
        ? 'network'
        : poll.status !== 200
          ? 'status'
          : status === undefined
            ? 'check'
            : undefined;
      ctx.store.recordRequest('poll', 'GET', p1 - p0, poll.bytes, pollFailure, ctx.second(p1));
      if (status !== undefined && terminalStatuses.has(status)) {
        ctx.store.addTrend('e2e_duration', payload.name, p1 - t0);
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

function parseJson(body: Buffer | undefined): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(body?.toString('utf8') ?? '');
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
