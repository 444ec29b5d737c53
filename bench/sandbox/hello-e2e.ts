/**
 * Issue 10 benchmark: end-to-end latency of a hello-world job through a running stack (submit →
 * terminal status seen by polling every 5 ms), one job at a time, so the sandbox driver's cost
 * shows rather than queueing. Run it once against a stack with each driver and compare; the
 * reference measured in the same run is the API's own GET /api/v1/health round trip, so the
 * printed ratio says how many API round trips one execution costs. Prints; asserts nothing.
 *
 *   sentinel-ctl up --state-dir /tmp/x --port-offset N      (worker.sandbox: nsjail or bwrap)
 *   node --import tsx bench/sandbox/hello-e2e.ts --api-url http://127.0.0.1:PORT [--runs 30] [--language cpp]
 */
import { parseArgs } from 'node:util';
import { sleep } from '../../src/clients/backoff.js';
import { isSentinelError } from '../../src/lib/errors.js';
import { getJobFromApi, submitJob } from '../../src/submit/client.js';
import { jobStatuses } from '../../src/worker/sandbox/types.js';

const { values } = parseArgs({
  options: {
    'api-url': { type: 'string', default: 'http://127.0.0.1:8080' },
    runs: { type: 'string', default: '30' },
    language: { type: 'string', default: 'python' },
    json: { type: 'boolean', default: false },
  },
});
const apiUrl = values['api-url'] as string;
const runs = Math.max(1, Number(values.runs));
const language = values.language === 'cpp' ? 'cpp' : 'python';
const HELLO = {
  python: { source: 'print("hello, world")\n', stdout: 'hello, world\n' },
  cpp: { source: '#include <cstdio>\nint main() { std::puts("hello, world"); }\n', stdout: 'hello, world\n' },
}[language];
const TERMINAL = new Set<string>(jobStatuses);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;

async function submit(): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await submitJob(apiUrl, { language, source_code: HELLO.source })).job_id;
    } catch (error) {
      // The API's per-minute rate limit: wait out the window (the wait is not measured).
      if (!(isSentinelError(error) && error.code === 'HTTP_429') || attempt > 20) throw error;
      await sleep(5000);
    }
  }
}

async function oneJob(): Promise<{ ms: number; ok: boolean; status: string }> {
  const t0 = performance.now();
  const id = await submit();
  for (;;) {
    const job = await getJobFromApi(apiUrl, id);
    if (TERMINAL.has(job.status)) {
      return {
        ms: performance.now() - t0,
        ok: job.status === 'SUCCESS' && job.stdout === HELLO.stdout,
        status: job.status,
      };
    }
    await sleep(5);
  }
}

const health: number[] = [];
const jobs: number[] = [];
const failures: string[] = [];
await oneJob(); // warm-up: interpreter pages, first connections
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  await fetch(`${apiUrl}/api/v1/health`).then((r) => r.text());
  health.push(performance.now() - t0);
  const r = await oneJob();
  if (r.ok) jobs.push(r.ms);
  else failures.push(r.status);
}
const result = {
  apiUrl,
  language,
  runs,
  ok: jobs.length,
  failures,
  jobMs: {
    p50: Math.round(median(jobs) * 10) / 10,
    p90: Math.round(pct(jobs, 90) * 10) / 10,
    min: Math.round(Math.min(...jobs) * 10) / 10,
  },
  healthMs: { p50: Math.round(median(health) * 10) / 10 },
  ratio: Math.round((median(jobs) / median(health)) * 10) / 10,
};
if (values.json) console.log(JSON.stringify(result));
else {
  console.log(
    `${language} hello world, ${jobs.length}/${runs} SUCCESS: median ${result.jobMs.p50} ms, p90 ${result.jobMs.p90} ms, min ${result.jobMs.min} ms; API health round trip median ${result.healthMs.p50} ms (job = ${result.ratio}x)${failures.length ? `; failures: ${failures.join(', ')}` : ''}`,
  );
}
