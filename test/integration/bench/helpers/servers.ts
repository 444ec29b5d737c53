import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';

export interface TestServer {
  url: string;
  /** Requests received so far. */
  count(): number;
  /** Server time (ms, performance clock) of the first request, once there was one. */
  firstAt(): number | undefined;
  /** Changes latency or error rate from now on (the same target, behaving differently). */
  set(opts: Pick<HttpServerOptions, 'latencyMs' | 'failEvery'>): void;
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
  /**
   * Periodic freezes on the wall clock: from `origin` (epoch ms) on, a request arriving in the last
   * `durationMs` of each `everyMs` period is answered at the end of the period.
   */
  freeze?: { origin: number; everyMs: number; durationMs: number };
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
    // Priming requests (sent before the clock starts) are answered but not part of the test.
    if (req.headers['x-bench-prime']) {
      req.resume();
      req.on('end', () => res.end('{"ok":true}'));
      return;
    }
    first ??= t;
    n += 1;
    const status = opts.failEvery && n % opts.failEvery === 0 ? 500 : 200;
    let delay = opts.latencyMs ?? 0;
    if (opts.stall) {
      const rel = t - first;
      const end = opts.stall.startMs + opts.stall.durationMs;
      if (rel >= opts.stall.startMs && rel < end) delay = Math.max(delay, end - rel);
    }
    if (opts.freeze) {
      const rel = performance.timeOrigin + t - opts.freeze.origin;
      const inPeriod = rel % opts.freeze.everyMs;
      if (rel >= 0 && inPeriod >= opts.freeze.everyMs - opts.freeze.durationMs)
        delay = Math.max(delay, opts.freeze.everyMs - inPeriod);
    }
    const reply = () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? '{"ok":true}' : '{"error":"boom"}');
    };
    req.resume();
    req.on('end', () => (delay > 0 ? setTimeout(reply, delay) : reply()));
  });
  const url = await listen(server);
  return {
    url,
    count: () => n,
    firstAt: () => first,
    set: (o) => Object.assign(opts, o),
    close: () => closeServer(server),
  };
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
