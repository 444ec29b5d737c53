import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';

export interface TestServer {
  url: string;
  /** Requests received so far. */
  count(): number;
  /** Server time (ms, performance clock) of the first request, once there was one. */
  firstAt(): number | undefined;
  close(): Promise<void>;
}

export interface HttpServerOptions {
  /** Delay of every response, ms. */
  latencyMs?: number;
  /** Every Nth request (1-based) answers 500: a deterministic error rate of 1/N. */
  failEvery?: number;
  /**
   * Stall window relative to the first request: a request arriving in [startMs, startMs + durationMs)
   * is answered at startMs + durationMs, as if the server froze (GC pause, lock) for that second.
   */
  stall?: { startMs: number; durationMs: number };
}

async function listen(server: http.Server): Promise<string> {
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A plain HTTP server with controllable latency, error rate and a stall window. */
export async function startHttpServer(opts: HttpServerOptions = {}): Promise<TestServer> {
  let n = 0;
  let first: number | undefined;
  const server = http.createServer((req, res) => {
    const t = performance.now();
    first ??= t;
    n += 1;
    const status = opts.failEvery && n % opts.failEvery === 0 ? 500 : 200;
    let delay = opts.latencyMs ?? 0;
    if (opts.stall) {
      const rel = t - first;
      const end = opts.stall.startMs + opts.stall.durationMs;
      if (rel >= opts.stall.startMs && rel < end) delay = Math.max(delay, end - rel);
    }
    const reply = () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? '{"ok":true}' : '{"error":"boom"}');
    };
    req.resume();
    req.on('end', () => (delay > 0 ? setTimeout(reply, delay) : reply()));
  });
  const url = await listen(server);
  return { url, count: () => n, firstAt: () => first, close: () => closeServer(server) };
}

/** Expected stdout of the default payloads, as a real worker would produce it. */
const outputs: Array<[RegExp, string]> = [
  [/print\(42\)/, '42\n'],
  [/sys\.stdin/, '55\n'],
  [/"hello"/, 'hello\n'],
  [/1000000/, '500000500000\n'],
];

export interface SentinelServerOptions {
  /** How long a job takes from submission to a terminal status, ms. */
  execMs?: number;
  /** Every Nth job ends in RUNTIME_ERROR. */
  errorEvery?: number;
  /** Every Nth job never finishes (the bench reports a poll timeout). */
  hangEvery?: number;
}

/**
 * A small server faithful to the API contract of docs/design.md ("The stack contract") for the
 * built-in Sentinel scenario: POST /api/v1/submissions → 202 {job_id, status: QUEUED} (400 on bad
 * input, 413 over 64 KB), GET /api/v1/submissions/:id → the job, QUEUED → RUNNING → terminal.
 */
export async function startSentinelServer(opts: SentinelServerOptions = {}): Promise<TestServer> {
  let n = 0;
  let jobs = 0;
  let first: number | undefined;
  const store = new Map<string, { created: number; seq: number; stdin?: string; source: string }>();
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    first ??= performance.now();
    n += 1;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      if (req.method === 'GET' && url === '/api/v1/health') {
        return json(res, 200, { status: 'ok', services: { postgres: 'ok', rabbitmq: 'ok', redis: 'ok' } });
      }
      if (req.method === 'POST' && url === '/api/v1/submissions') {
        const raw = Buffer.concat(chunks);
        let body: { language?: unknown; source_code?: unknown; stdin?: unknown };
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return json(res, 400, { error: 'invalid JSON' });
        }
        if (body.language !== 'python' && body.language !== 'cpp')
          return json(res, 400, { error: 'bad language' });
        if (typeof body.source_code !== 'string' || !body.source_code)
          return json(res, 400, { error: 'no source' });
        if (Buffer.byteLength(body.source_code) > 64 * 1024)
          return json(res, 413, { error: 'source too large' });
        const id = randomUUID();
        jobs += 1;
        store.set(id, { created: performance.now(), seq: jobs, source: body.source_code });
        return json(res, 202, { job_id: id, status: 'QUEUED' });
      }
      const m = /^\/api\/v1\/submissions\/([0-9a-f-]{36})$/.exec(url);
      if (req.method === 'GET' && m) {
        const job = store.get(m[1]!);
        if (!job) return json(res, 404, { error: 'not found' });
        const age = performance.now() - job.created;
        const exec = opts.execMs ?? 200;
        const hang = opts.hangEvery !== undefined && job.seq % opts.hangEvery === 0;
        let status =
          age < exec / 2 || hang
            ? age < exec / 4
              ? 'QUEUED'
              : 'RUNNING'
            : age < exec
              ? 'RUNNING'
              : 'SUCCESS';
        if (status === 'SUCCESS' && opts.errorEvery && job.seq % opts.errorEvery === 0)
          status = 'RUNTIME_ERROR';
        const stdout = status === 'SUCCESS' ? (outputs.find(([re]) => re.test(job.source))?.[1] ?? '') : '';
        return json(res, 200, {
          job_id: m[1],
          status,
          stdout,
          stderr: status === 'RUNTIME_ERROR' ? 'Traceback: boom\n' : '',
          exit_code: status === 'SUCCESS' ? 0 : status === 'RUNTIME_ERROR' ? 1 : null,
          time_used_ms: status === 'SUCCESS' ? 12 : null,
          memory_used_kb: status === 'SUCCESS' ? 9000 : null,
        });
      }
      return json(res, 404, { error: 'not found' });
    });
  });
  const url = await listen(server);
  return { url, count: () => n, firstAt: () => first, close: () => closeServer(server) };
}

const bin = new URL('../../../../bin/run.js', import.meta.url).pathname;

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The parsed --json envelope. */
  json: {
    status: number;
    result?: Record<string, unknown> & { [k: string]: unknown };
    error?: { code: string; message: string; exitCode: number };
    warnings: string[];
  };
}

/** Runs the built CLI (`npm run build` first) with --json and parses the envelope. */
export async function runCli(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliRun> {
  const r = await execa('node', [bin, ...args, '--json'], {
    reject: false,
    timeout: opts.timeoutMs ?? 120_000,
    env: { CI: 'true' },
    stdin: 'ignore',
  });
  const stdout = String(r.stdout);
  let json: CliRun['json'];
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.exitCode}):\n${stdout}\n${r.stderr}`);
  }
  return { exitCode: r.exitCode ?? -1, stdout, stderr: String(r.stderr), json };
}
