/**
 * Issue 3 benchmark, one run: (a) the floor — sandboxed print(1) executions/s over the sandbox
 * driver alone at concurrency = pool size (bench/sandbox/floor.ts); (b) the pipeline — jobs/s
 * through API → RabbitMQ → worker → PostgreSQL with the same pool size; (c) end-to-end latency of
 * one job at a time against one bare sandbox run at a time. Prints ratios; asserts nothing.
 *
 *   node --import tsx bench/pipeline/run.ts [--pool 2] [--jobs 200] [--seconds 10]
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    pool: { type: 'string', default: '2' },
    jobs: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    offset: { type: 'string', default: '17000' },
  },
});
const pool = Number(values.pool);
const jobs = Number(values.jobs);
const bin = path.resolve('bin/run.js');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function floor(concurrency: number): { perSecond: number; p50: number } {
  const out = execFileSync(
    'node',
    ['--import', 'tsx', 'bench/sandbox/floor.ts', '--concurrency', String(concurrency), '--seconds', values.seconds!, '--skip-bare', '--json'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const r = JSON.parse(out) as { floor: { perSecond: number; latencyMs: { p50: number } } };
  return { perSecond: r.floor.perSecond, p50: r.floor.latencyMs.p50 };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-bench-pipeline-'));
chmodSync(dir, 0o755);
writeFileSync(path.join(dir, 'sentinel.config.yaml'), `worker:\n  poolSize: ${pool}\napi:\n  rateLimit: 10000000\n`);
const args = ['--config', path.join(dir, 'sentinel.config.yaml'), '--state-dir', path.join(dir, 'state'), '--port-offset', values.offset!];
const api = `http://127.0.0.1:${8080 + Number(values.offset)}`;

async function submit(): Promise<string> {
  const res = await fetch(`${api}/api/v1/submissions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ language: 'python', source_code: 'print(1)' }),
  });
  if (res.status !== 202) throw new Error(`submit: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { job_id: string }).job_id;
}

async function terminal(id: string, pollMs: number): Promise<string> {
  for (let i = 0; i < 100_000; i++) {
    const job = (await (await fetch(`${api}/api/v1/submissions/${id}`)).json()) as { status: string };
    if (!['QUEUED', 'COMPILING', 'RUNNING'].includes(job.status)) return job.status;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error('never finished');
}

try {
  const f = floor(pool);
  const f1 = floor(1);
  execFileSync('node', [bin, 'up', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  // Warm-up: the first jobs pay for connection set-up and page cache.
  await Promise.all(Array.from({ length: pool * 2 }, async () => terminal(await submit(), 20)));

  // Completion is read from the worker's own counter (one scrape every 50 ms), not by polling
  // every job: 100 pollers would load the 2 cores the sandboxes need and measure the poller.
  const metricsUrl = `http://127.0.0.1:${9090 + Number(values.offset)}/metrics`;
  const executed = async () => {
    const text = await (await fetch(metricsUrl)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('sentinel_executions_total{'))
      .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  };
  const before = await executed();
  const t0 = performance.now();
  const ids = await Promise.all(Array.from({ length: jobs }, () => submit()));
  for (let i = 0; i < 100_000 && (await executed()) < before + jobs; i++) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - t0) / 1000;
  const statuses = await Promise.all(ids.map((id) => terminal(id, 50)));
  const ok = statuses.filter((s) => s === 'SUCCESS').length;
  const throughput = jobs / seconds;

  const latencies: number[] = [];
  for (let i = 0; i < 30; i++) {
    const s = performance.now();
    await terminal(await submit(), 5);
    latencies.push(performance.now() - s);
  }
  const e2e = median(latencies);
  console.log(`pool size               ${pool}`);
  console.log(`floor (sandbox only)    ${f.perSecond.toFixed(1)} executions/s at concurrency ${pool}`);
  console.log(`pipeline                ${throughput.toFixed(1)} jobs/s (${jobs} jobs, ${ok} SUCCESS, ${seconds.toFixed(1)} s)`);
  console.log(`ratio                   ${(throughput / f.perSecond).toFixed(2)} × floor   (target ≥ 0.8)`);
  console.log(`e2e latency, 1 at once  median ${e2e.toFixed(0)} ms vs bare sandbox run ${f1.p50} ms`);
  console.log(`overhead                ${(e2e - f1.p50).toFixed(0)} ms   (target ≤ 20 ms; includes 5 ms poll granularity)`);
  console.log(`machine                 load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  execFileSync('node', [bin, 'down', ...args], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
