/**
 * Issue 11 benchmark: `diagnose --k8s` over a namespace with 200 pods (a quarter of them
 * crash-looping or OOM-killed, as a kubelet would report) and 2,000 warning events, against the real
 * kube-apiserver of test/helpers/k8s.ts. Wall time and peak RSS of the CLI process come from
 * /usr/bin/time; printed as medians against the targets (≤ 2 s, ≤ 200 MB), next to
 * `kubectl get pods,events` of the same namespace in the same run. Asserts nothing.
 *
 *   npm run build && node --import tsx bench/k8s/diagnose.ts [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectCluster } from '../../src/k8s/client.js';
import { startTestCluster } from '../../test/helpers/k8s.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
const bin = path.resolve('bin/run.js');
const NS = 'bench-diag';
const PODS = 200;
const EVENTS = 2000;

async function pool<T>(items: T[], n: number, f: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

function measured(cmd: string, args: string[]): { ms: number; mb: number; code: number | null } {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const ms = performance.now() - t;
  const kb = Number(r.stderr.trim().split('\n').at(-1));
  return { ms, mb: kb / 1024, code: r.status };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const cluster = await startTestCluster('k8s');
try {
  const c = connectCluster({ kubeconfig: cluster.kubeconfig });
  await c.request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
  });
  const started = performance.now();
  await pool([...Array(PODS).keys()], 16, async (i) => {
    const name = `worker-${i}`;
    await c.request('POST', `/api/v1/namespaces/${NS}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/name': 'worker' } },
        spec: { containers: [{ name: 'worker', image: 'w:1', resources: { limits: { memory: '512Mi' } } }] },
      },
    });
    const bad = i % 4 === 0;
    await c.request('PATCH', `/api/v1/namespaces/${NS}/pods/${name}/status`, {
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          phase: 'Running',
          containerStatuses: [
            {
              name: 'worker',
              image: 'w:1',
              imageID: '',
              ready: !bad,
              restartCount: bad ? 4 : 0,
              state: bad ? { waiting: { reason: 'CrashLoopBackOff' } } : { running: {} },
              ...(bad ? { lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } } : {}),
            },
          ],
        },
      },
    });
  });
  await pool([...Array(EVENTS).keys()], 16, (i) =>
    c.request('POST', `/api/v1/namespaces/${NS}/events`, {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `e-${i}`, namespace: NS },
        involvedObject: { kind: 'Pod', name: `worker-${i % PODS}`, namespace: NS },
        type: 'Warning',
        reason: ['BackOff', 'OOMKilling', 'FailedScheduling', 'Unhealthy'][i % 4],
        message: `event ${i}`,
      },
    }),
  );
  const seeding = (performance.now() - started) / 1000;
  const ours: Array<{ ms: number; mb: number }> = [];
  const theirs: Array<{ ms: number; mb: number }> = [];
  let findings = 0;
  for (let i = 0; i < runs; i++) {
    const r = measured('node', [
      bin,
      'diagnose',
      '--k8s',
      '--kubeconfig',
      cluster.kubeconfig,
      '-n',
      NS,
      '--json',
    ]);
    if (r.code !== 1) throw new Error(`diagnose --k8s exited ${r.code}, expected 1 (critical findings)`);
    ours.push(r);
    const k = measured('kubectl', [
      '--kubeconfig',
      cluster.kubeconfig,
      '-n',
      NS,
      'get',
      'pods,events',
      '-o',
      'json',
    ]);
    theirs.push(k);
  }
  const once = spawnSync(
    'node',
    [bin, 'diagnose', '--k8s', '--kubeconfig', cluster.kubeconfig, '-n', NS, '--json'],
    { encoding: 'utf8', maxBuffer: 256 << 20 },
  );
  findings = (JSON.parse(once.stdout) as { result: { findings: unknown[] } }).result.findings.length;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const mo = { ms: median(ours.map((x) => x.ms)), mb: median(ours.map((x) => x.mb)) };
  const mt = { ms: median(theirs.map((x) => x.ms)), mb: median(theirs.map((x) => x.mb)) };
  console.log(
    `${PODS} pods (${PODS / 4} crash-looping after OOMKilled) and ${EVENTS} warning events seeded in ${seeding.toFixed(1)} s; ${runs} runs, medians:`,
  );
  console.log(
    `  diagnose --k8s --json   ${s(mo.ms)}  ${mo.mb.toFixed(0)} MB peak RSS  (${findings} findings; targets ≤ 2 s, ≤ 200 MB)`,
  );
  console.log(
    `  kubectl get pods,events ${s(mt.ms)}  ${mt.mb.toFixed(0)} MB peak RSS  ratio ${(mo.ms / mt.ms).toFixed(2)}`,
  );
} finally {
  await cluster.stop();
}
