/**
 * Issue 12 §2 wall time: `bench --k8s --shards 2` against one local generator with the same total
 * rate, in the same run, rounds interleaved. The cluster is the real kube-apiserver of
 * test/helpers/k8s.ts; no kubelet runs there, so the script starts the Job's two pods itself the
 * moment the Job exists (runAsPod: the container's command with the ServiceAccount's real token,
 * as the integration test does) — a kubelet with the image already pulled. Both runs get the same
 * `--start-at` lead, so the ratio shows what the Job machinery adds: creating the objects, starting
 * the shards, storing and polling the reports, merging and deleting everything.
 * Wall time is from the coordinator's (or the generator's) process start to its exit.
 * Prints the medians and their ratio; asserts nothing. Needs root (mount namespaces).
 *
 *   npm run build && SENTINEL_TEST_PORT_SHIFT=12 node --import tsx bench/shards/k8s.ts
 *   env: RATE=1000 DURATION=10 LEAD=15 ROUNDS=3; SHOW=1 prints the coordinator's output of each k8s run
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import {
  adminRequest,
  type PodContainer,
  podCommand,
  runAsPod,
  startTestCluster,
  waitFor,
} from '../../test/helpers/k8s.js';

const RATE = Number(process.env.RATE ?? 1000);
const DURATION = Number(process.env.DURATION ?? 10);
const LEAD = Number(process.env.LEAD ?? 15);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SHOW = process.env.SHOW === '1';
const NS = 'bench-shards';
const bin = path.resolve('bin/run.js');

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end('ok'));
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const cluster = await startTestCluster('k8sBench');
await adminRequest(cluster, 'POST', '/api/v1/namespaces', { metadata: { name: NS } });

const load = ['--rate', String(RATE), '-d', `${DURATION}s`, '--max-vus', String(RATE * 2)];
const env = { ...process.env, CI: 'true' };
/** Judged on the merged data (and by the local run alike). */
const THRESHOLDS = [
  '-t',
  'http_req_duration:p(99)<1000',
  '-t',
  `http_reqs:count>=${RATE * DURATION}`,
  '--assert',
];

async function local(): Promise<number> {
  const t0 = performance.now();
  const r = await execa(
    'node',
    [bin, 'bench', url, ...load, '--start-at', `+${LEAD}s`, ...THRESHOLDS, '--json'],
    {
      env,
      reject: false,
    },
  );
  const ms = performance.now() - t0;
  const doc = JSON.parse(String(r.stdout));
  if (r.exitCode !== 0) throw new Error(`local run exited ${r.exitCode}: ${r.stderr}`);
  return check(ms, doc.result.requests.at(-1).requests);
}

async function k8s(): Promise<number> {
  const t0 = performance.now();
  const run = execa(
    'node',
    [
      bin,
      'bench',
      url,
      ...load,
      '--start-at',
      `+${LEAD}s`,
      '--k8s',
      '--shards',
      '2',
      '-n',
      NS,
      ...THRESHOLDS,
    ],
    { env: { ...env, KUBECONFIG: cluster.kubeconfig, COLUMNS: '100' }, reject: false, all: SHOW },
  );
  type Job = {
    metadata: { labels: Record<string, string> };
    spec: { template: { spec: { serviceAccountName: string; containers: PodContainer[] } } };
  };
  let job: Job | undefined;
  await waitFor(async () => {
    const r = await adminRequest<{ items: Job[] }>(cluster, 'GET', `/apis/batch/v1/namespaces/${NS}/jobs`);
    job = r.body.items[0];
    return Boolean(job);
  }, 'the Job');
  const pod = job!.spec.template.spec;
  const pods = [0, 1].map(async (i) => {
    const { args, env } = await podCommand(cluster, NS, pod.containers[0]!, {
      JOB_COMPLETION_INDEX: String(i),
    });
    return runAsPod(cluster, { namespace: NS, serviceAccount: pod.serviceAccountName, args, env });
  });
  await Promise.all(pods);
  const r = await run;
  const ms = performance.now() - t0;
  if (SHOW) console.log(String(r.all));
  if (r.exitCode !== 0) throw new Error(`k8s run exited ${r.exitCode}: ${r.stderr}`);
  // The summary's last request row is "all requests".
  const all = String(r.stdout)
    .split('\n')
    .find((l) => l.startsWith('all requests'));
  return check(ms, Number(all?.split(/\s+/)[2]));
}

function check(ms: number, requests: number): number {
  if (requests !== RATE * DURATION) throw new Error(`expected ${RATE * DURATION} requests, got ${requests}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const times = { local: [] as number[], k8s: [] as number[] };
try {
  for (let i = 0; i < ROUNDS; i++) {
    times.local.push(await local());
    times.k8s.push(await k8s());
    console.log(
      `round ${i + 1}: one generator ${(times.local.at(-1)! / 1000).toFixed(1)} s, 2-shard k8s ${(times.k8s.at(-1)! / 1000).toFixed(1)} s`,
    );
  }
  const l = median(times.local);
  const k = median(times.k8s);
  console.log(
    `${RATE}/s for ${DURATION} s, --start-at +${LEAD}s, ${ROUNDS} rounds (medians): one generator ${(l / 1000).toFixed(1)} s, ` +
      `bench --k8s --shards 2 ${(k / 1000).toFixed(1)} s (×${(k / l).toFixed(2)}, +${((k - l) / 1000).toFixed(1)} s)`,
  );
} finally {
  await cluster.stop();
  server.close();
}
