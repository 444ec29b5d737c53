/**
 * Issue 3 benchmark, part (a): the floor — sandboxed `print(1)` executions per second from a tight
 * loop over the sandbox driver alone (no API, queue or database), N loops at once, one slot each.
 * The pipeline benchmark compares itself against this number. Also measures bare python3 with the
 * same concurrency, so the sandbox's own cost shows. Prints; asserts nothing.
 *
 *   node --import tsx bench/sandbox/floor.ts                      (N = 4, 10 s each)
 *   node --import tsx bench/sandbox/floor.ts --concurrency 2 --seconds 20 --json
 *   node --import tsx bench/sandbox/floor.ts --driver nsjail      (where nsjail is installed)
 */
import { parseArgs } from 'node:util';
import { run } from '../../src/lib/proc.js';
import { chooseDriver } from '../../src/worker/sandbox/choose.js';
import { runJob } from '../../src/worker/sandbox/run-job.js';
import type { JobInput } from '../../src/worker/sandbox/types.js';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '10' },
    driver: { type: 'string', default: 'auto' },
    'nsjail-path': { type: 'string', default: '/usr/bin/nsjail' },
    'skip-bare': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const concurrency = Math.max(1, Number(values.concurrency));
const seconds = Math.max(1, Number(values.seconds));
const sandbox = values.driver as 'auto' | 'nsjail' | 'bwrap';
// Bounded whatever the clock does: at most this many runs per loop.
const MAX_RUNS_PER_LOOP = 100_000;

interface Measurement {
  runs: number;
  failures: number;
  seconds: number;
  perSecond: number;
  latencyMs: { p50: number; p90: number; p99: number };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** N loops, each calling `once` back to back until the time is up; counts completions. */
async function loops(once: (loop: number) => Promise<boolean>): Promise<Measurement> {
  const latencies: number[] = [];
  let failures = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      for (let i = 0; i < MAX_RUNS_PER_LOOP && performance.now() < deadline; i++) {
        const t0 = performance.now();
        const ok = await once(loop);
        latencies.push(performance.now() - t0);
        if (!ok) failures++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    runs: latencies.length,
    failures,
    seconds: round(elapsed),
    perSecond: round(latencies.length / elapsed),
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
    },
  };
}

const job: JobInput = {
  language: 'python',
  source: 'print(1)',
  stdin: '',
  timeLimitMs: 5000,
  memoryLimitKb: 262_144,
};

const driver = chooseDriver({ sandbox, nsjailPath: values['nsjail-path'], poolSize: concurrency });
const info = await driver.init();
// One warm-up run per slot: page cache, first cgroup writes.
await Promise.all(Array.from({ length: concurrency }, (_, slot) => runJob(job, { driver, slot })));

const floor = await loops(async (slot) => {
  const r = await runJob(job, { driver, slot });
  return r.status === 'SUCCESS' && r.stdout === '1\n';
});
await driver.close();

const bare = values['skip-bare']
  ? undefined
  : await loops(async () => {
      const r = await run('/usr/bin/python3', ['-c', 'print(1)'], { reject: false });
      return r.exitCode === 0 && r.stdout === '1';
    });

const report = {
  driver: info.name,
  cgroups: info.cgroups,
  warnings: info.warnings,
  concurrency,
  floor,
  bare,
  sandboxShare: bare ? Math.round((floor.perSecond / bare.perSecond) * 100) / 100 : undefined,
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  const line = (name: string, m: Measurement) =>
    `${name.padEnd(28)} ${String(m.perSecond).padStart(7)} executions/s   ${m.runs} runs in ${m.seconds} s, ${m.failures} failed   latency p50 ${m.latencyMs.p50} ms, p90 ${m.latencyMs.p90} ms, p99 ${m.latencyMs.p99} ms`;
  console.log(`sandbox floor: ${info.name} driver, cgroups ${info.cgroups}, concurrency ${concurrency}`);
  for (const w of info.warnings) console.log(`  warning: ${w}`);
  console.log(line(`sandboxed print(1) ×${concurrency}`, floor));
  if (bare) console.log(line(`bare python3 print(1) ×${concurrency}`, bare));
  if (report.sandboxShare !== undefined) console.log(`sandboxed / bare: ${report.sandboxShare}`);
}
