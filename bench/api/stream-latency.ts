/**
 * Issue 15 benchmark: end-to-end latency of a hello-world job (POST → terminal status seen by the
 * client) when the client follows the WebSocket stream, against polling as `submit --no-stream`
 * does (100 ms, backing off ×1.5 to 1 s) and against a tight 10 ms poller. Runs alternate so both
 * see the same machine; prints medians and ratios; asserts nothing.
 *
 *   npm run build && node --import tsx bench/api/stream-latency.ts [--runs 30] [--offset 17100]
 *   node --import tsx bench/api/stream-latency.ts --api-url http://127.0.0.1:15880   # a running stack
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isTerminal } from '../../src/jobs/repository.js';
import { followJob, getJobFromApi, submitJob, waitForJob } from '../../src/submit/client.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    offset: { type: 'string', default: '17100' },
    'api-url': { type: 'string' },
  },
});
const runs = Number(values.runs);
const bin = path.resolve('bin/run.js');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

let api = values['api-url'];
let stop = () => {};
if (!api) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-bench-stream-'));
  chmodSync(dir, 0o755);
  writeFileSync(
    path.join(dir, 'sentinel.config.yaml'),
    'worker:\n  poolSize: 2\napi:\n  rateLimit: 10000000\n',
  );
  const args = [
    '--config',
    path.join(dir, 'sentinel.config.yaml'),
    '--state-dir',
    path.join(dir, 'state'),
    '--port-offset',
    values.offset!,
  ];
  execFileSync('node', [bin, 'up', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  api = `http://127.0.0.1:${8080 + Number(values.offset)}`;
  stop = () => {
    execFileSync('node', [bin, 'down', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    rmSync(dir, { recursive: true, force: true });
  };
}

const submit = async () =>
  (await submitJob(api!, { language: 'python', source_code: 'print("hello, world")' })).job_id;

const modes = {
  streamed: async (id: string) => (await followJob(api!, id, 60_000))?.status,
  'polled (submit --no-stream)': async (id: string) => (await waitForJob(api!, id, 60_000)).status,
  'polled every 10 ms': async (id: string) => {
    for (;;) {
      const job = await getJobFromApi(api!, id);
      if (isTerminal(job.status)) return job.status;
      await new Promise((r) => setTimeout(r, 10));
    }
  },
} as const;
type Mode = keyof typeof modes;

try {
  // Warm-up: the first jobs pay for connections and caches.
  for (const wait of Object.values(modes)) await wait(await submit());
  const ms: Record<Mode, number[]> = {
    streamed: [],
    'polled (submit --no-stream)': [],
    'polled every 10 ms': [],
  };
  for (let i = 0; i < runs; i++) {
    for (const [mode, wait] of Object.entries(modes) as Array<
      [Mode, (id: string) => Promise<string | undefined>]
    >) {
      const t0 = performance.now();
      const status = await wait(await submit());
      const t = performance.now() - t0;
      if (status !== 'SUCCESS') throw new Error(`${mode}: job ended ${status}`);
      ms[mode].push(t);
    }
  }
  const ref = median(ms.streamed);
  console.log(
    `hello-world job, POST → terminal status at the client, ${runs} runs per mode (interleaved), ${api}`,
  );
  for (const [mode, xs] of Object.entries(ms)) {
    const s = [...xs].sort((a, b) => a - b);
    console.log(
      `${mode.padEnd(28)} median ${median(xs).toFixed(1).padStart(7)} ms   p10 ${s[Math.floor(s.length * 0.1)]!.toFixed(1).padStart(7)}   p90 ${s[Math.floor(s.length * 0.9)]!.toFixed(1).padStart(7)}   ×${(median(xs) / ref).toFixed(2)} of streamed`,
    );
  }
} finally {
  stop();
}
